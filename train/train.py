"""Train the mini-zoo on a MiniMIG file (train/make-data.ts). One stage per call:

  vae        VAE 3x32x32 <-> 4x8x8 on every render; latents scaled to unit std
  base       text encoder + base UNet ("mini SD") on full captions and full renders
  interact   InteractDiffusion-mini: gated self-attention fusers on the frozen base;
             captions and phrases without colour words, full renders
  migc       MIGC-mini: instance branches on the frozen base; captions without action words,
             phrases with colours, renders without interaction marks
  ipadapter  IP-Adapter-mini: image encoder + projection + decoupled cross-attention on the
             frozen base; captions without style words, the style reference, full renders

Every stage is seeded, runs a fixed number of steps, writes <out>/model.pt (and a checkpoint
every --save-every steps) and <out>/log.csv (step, mean loss over the last --log-every steps,
seconds). Conditions are dropped (replaced by what the pipeline feeds the unconditional row)
with probability --drop so classifier-free guidance works.
"""
import argparse
import json
import os
import sys
import time

# One BLAS thread: under CPU contention, spinning worker threads cost far more than they give.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimig import MiniMig  # noqa: E402
import zoo_models as zm  # noqa: E402

STAGES = ["vae", "base", "interact", "migc", "ipadapter"]
# Sizes of the full models and of --smoke (a few steps at tiny sizes, for tests).
SIZES = {"full": {"dim": 64, "ch": 48, "vae_ch": 96}, "smoke": {"dim": 16, "ch": 16, "vae_ch": 16}}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description="train one stage of the mini-zoo")
    ap.add_argument("stage", choices=STAGES)
    ap.add_argument("--data", required=True, help="MiniMIG file from train/make-data.ts")
    ap.add_argument("--out", required=True, help="run folder (model.pt, log.csv)")
    ap.add_argument("--vae", help="VAE run folder (stages after vae)")
    ap.add_argument("--base", help="base run folder (adapter stages)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate (default per stage)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--drop", type=float, default=0.1, help="condition dropout probability")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--save-every", type=int, default=500)
    ap.add_argument("--stop-at", type=int, help="stop after this step (the schedule still spans --steps); "
                    "a run stopped early this way is reproduced by the same two numbers")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (tests)")
    ap.add_argument("--init", help="vae or interact stage: start from this run's weights (continued training, "
                    "a fine-tune)")
    ap.add_argument("--l1", type=float, default=1.0, help="vae stage: weight of the L1 term (besides MSE)")
    ap.add_argument("--freeze-decoder", action="store_true",
                    help="vae stage: train the encoder only, against the --init run's decoder, and keep its "
                    "latent_scale (refits an encoder to an exported decoder; train/from_onnx.py)")
    ap.add_argument("--mark-weight", type=float, default=4.0,
                    help="interact stage: extra loss weight on latent cells that hold an interaction mark "
                    "(weight 1 + this); 0 gives the plain eps-MSE")
    ap.add_argument("--subject-weight", type=float, default=0.0,
                    help="interact stage: extra loss weight on latent cells of the subject's box of a 'looking at' "
                    "relation (the shape's colour around the dot); adds to --mark-weight")
    ap.add_argument("--caption", default="caption_nocolour", choices=["caption_nocolour", "caption"],
                    help="interact stage: the caption variant it is conditioned on (caption: with colour words)")
    ap.add_argument("--phrases", default="phrase_nocolour", choices=["phrase_nocolour", "phrase"],
                    help="interact stage: the subject and object phrases of its grounding tokens (phrase: with colour words)")
    ap.add_argument("--fuser-ff", action="store_true",
                    help="interact stage: add GLIGEN's gated feed-forward to every fuser (zero-initialised gate; "
                    "with --init from a run without it, training continues from that run's function)")
    ap.add_argument("--relations-only", action="store_true",
                    help="interact stage: draw batches from the samples with at least one relation only")
    ap.add_argument("--box-weight", type=float, default=0.0,
                    help="migc stage: extra loss weight on latent cells inside an instance box "
                    "(weight 1 + this); 0 gives the plain eps-MSE")
    a = ap.parse_args(argv)
    for k in ["steps", "batch", "threads", "log_every", "save_every"]:
        if getattr(a, k) < 1:
            ap.error(f"--{k.replace('_', '-')} must be >= 1, got {getattr(a, k)}")
    for k in ["mark_weight", "box_weight", "subject_weight"]:
        if getattr(a, k) < 0:
            ap.error(f"--{k.replace('_', '-')} must be >= 0, got {getattr(a, k)}")
    if not 0 <= a.drop < 1:
        ap.error(f"--drop must be in [0, 1), got {a.drop}")
    if a.init and a.stage not in ("vae", "interact"):
        ap.error(f"--init is for the vae and interact stages, got stage {a.stage}")
    if a.freeze_decoder and (a.stage != "vae" or not a.init):
        ap.error("--freeze-decoder is for the vae stage with --init <VAE run folder>")
    if a.stage != "vae" and not a.vae:
        ap.error(f"stage {a.stage} needs --vae <VAE run folder>")
    if a.stage in ("interact", "migc", "ipadapter") and not a.base:
        ap.error(f"stage {a.stage} needs --base <base run folder>")
    return a


def u8_to_float(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float32)) / 127.5 - 1.0


def tokens(a):
    return torch.from_numpy(np.asarray(a, dtype=np.int64))


class Logger:
    def __init__(self, out, every):
        self.f = open(os.path.join(out, "log.csv"), "w")
        self.f.write("step,loss,seconds\n")
        self.every, self.acc, self.n, self.t0 = every, 0.0, 0, time.time()

    def add(self, step, loss):
        self.acc += loss
        self.n += 1
        if step % self.every == 0:
            line = f"{step},{self.acc / self.n:.6f},{time.time() - self.t0:.1f}"
            self.f.write(line + "\n")
            self.f.flush()
            print(line, flush=True)
            self.acc, self.n = 0.0, 0


def lr_at(step, steps, peak, warm=100):
    """Linear warm-up, then cosine decay to 10 % of the peak."""
    if step < warm:
        return peak * (step + 1) / warm
    p = (step - warm) / max(1, steps - warm)
    return peak * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * p)))


def save(obj, path):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train_loop(a, params, loss_fn, state_fn, default_lr):
    """Adam with warm-up + cosine; loss_fn(step, rng) -> scalar loss."""
    opt = torch.optim.AdamW(params, lr=a.lr or default_lr, weight_decay=0.0)
    log = Logger(a.out, a.log_every)
    rng = np.random.default_rng(a.seed)
    last = min(a.steps, a.stop_at or a.steps)
    for step in range(1, last + 1):
        for g in opt.param_groups:
            g["lr"] = lr_at(step - 1, a.steps, a.lr or default_lr)
        loss = loss_fn(step, rng)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        log.add(step, float(loss))
        if step % a.save_every == 0 or step == last:
            save(state_fn(step), os.path.join(a.out, "model.pt"))


# ---------------------------------------------------------------- VAE

def stage_vae(a, data, size):
    vae = load_vae(a.init).train() if a.init else zm.VAE(size["vae_ch"])
    scale = float(vae.latent_scale)
    vae.latent_scale.fill_(1.0)
    params = list(vae.enc.parameters() if a.freeze_decoder else vae.parameters())
    for p in vae.dec.parameters():
        p.requires_grad_(not a.freeze_decoder)
    sources = [data["image"], data["image_nomarks"], data["style_ref"]]
    N = data.count

    def batch(rng):
        src = sources[rng.integers(0, 3)]
        idx = np.sort(rng.choice(N, size=min(a.batch, N), replace=False))
        return u8_to_float(src[idx])

    def loss_fn(step, rng):
        x = batch(rng)
        z = vae.enc(x)
        noise = torch.from_numpy(rng.standard_normal(z.shape).astype(np.float32))
        rec = vae.dec(z + 0.1 * noise)
        return F.mse_loss(rec, x) + a.l1 * F.l1_loss(rec, x) + 1e-4 * z.pow(2).mean()

    def state(step):
        return {"kind": "vae", "size": size, "step": step, "state": vae.state_dict()}

    train_loop(a, params, loss_fn, state, 2e-3)
    if a.freeze_decoder:  # the decoder's latents keep their scale: report their std on the data instead
        vae.latent_scale.fill_(scale)
        report = latent_report(vae, data, a.seed + 1)
    else:
        report = set_latent_scale(vae, data, a.seed + 1)
    save(state(a.steps), os.path.join(a.out, "model.pt"))
    print(json.dumps(report))


def set_latent_scale(vae, data, seed):
    """latent_scale = 1 / std of the encoder output on 2048 renders; returns it with the
    reconstruction MSE of 256 renders."""
    with torch.no_grad():
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(data.count, size=min(2048, data.count), replace=False))
        vae.latent_scale.fill_(1.0)
        z = vae.enc(u8_to_float(data["image"][idx]))
        vae.latent_scale.fill_(1.0 / float(z.std()))
    return latent_report(vae, data, seed)


def latent_report(vae, data, seed):
    """latent_scale, the std of the scaled latents of 2048 renders (1 right after set_latent_scale)
    and the reconstruction MSE of 256 of them."""
    with torch.no_grad():
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(data.count, size=min(2048, data.count), replace=False))
        z = vae.encode(u8_to_float(data["image"][idx]))
        x = u8_to_float(data["image"][idx[:256]])
        err = float(F.mse_loss(vae.decode(vae.encode(x)), x))
    return {"latent_scale": float(vae.latent_scale), "latent_std": float(z.std()), "reconstruction_mse": err}


def load_vae(folder):
    ck = torch.load(os.path.join(folder, "model.pt"))
    vae = zm.VAE(ck["size"]["vae_ch"])
    vae.load_state_dict(ck["state"])
    vae.eval()
    return vae


def latents(vae_dir, data, name):
    """VAE latents of data[name] ([N,4,8,8] float32), cached beside the VAE checkpoint."""
    path = os.path.join(vae_dir, f"latents_{name}_{data.count}_{data.header['seed']}.npy")
    if os.path.exists(path):
        return torch.from_numpy(np.load(path))
    vae = load_vae(vae_dir)
    out = []
    with torch.no_grad():
        for i in range(0, data.count, 512):
            out.append(vae.encode(u8_to_float(data[name][i : i + 512])))
    z = torch.cat(out).numpy()
    tmp = path + f".{os.getpid()}.tmp.npy"
    np.save(tmp, z)
    os.replace(tmp, path)
    return torch.from_numpy(z)


# ---------------------------------------------------------------- diffusion helpers

class Diffusion:
    def __init__(self):
        self.ac = zm.sd_alphas_cumprod()

    def noised(self, z0, rng):
        B = z0.shape[0]
        t = torch.from_numpy(rng.integers(0, 1000, size=B))
        eps = torch.from_numpy(rng.standard_normal(z0.shape).astype(np.float32))
        ac = self.ac[t].view(B, 1, 1, 1)
        return ac.sqrt() * z0 + (1 - ac).sqrt() * eps, t, eps


def base_models(a, data, size):
    te = zm.TextEncoder(data.token_ids(), dim=size["dim"])
    unet = zm.UNet(ctx_dim=size["dim"], ch=size["ch"])
    return te, unet


def load_base(folder, data):
    ck = torch.load(os.path.join(folder, "model.pt"))
    size = ck["size"]
    te = zm.TextEncoder(ck["used_ids"], dim=size["dim"])
    unet = zm.UNet(ctx_dim=size["dim"], ch=size["ch"])
    te.load_state_dict(ck["text_encoder"])
    unet.load_state_dict(ck["unet"])
    return te, unet, ck


def drop_mask(rng, B, p):
    return torch.from_numpy(rng.random(B) < p)


def stage_base(a, data, size):
    te, unet = base_models(a, data, size)
    z_all = latents(a.vae, data, "image")
    latents(a.vae, data, "image_nomarks")  # cached for MIGC-mini
    diff = Diffusion()
    empty = tokens(data["empty_tokens"])
    caption = data["caption"]
    N = data.count

    def loss_fn(step, rng):
        idx = np.sort(rng.choice(N, size=min(a.batch, N), replace=False))
        ids = tokens(caption[idx])
        ids[drop_mask(rng, len(idx), a.drop)] = empty
        ctx, _ = te(ids)
        zt, t, eps = diff.noised(z_all[idx], rng)
        return F.mse_loss(unet(zt, t, ctx), eps)

    def state(step):
        return {"kind": "base", "size": size, "step": step, "used_ids": data.token_ids(),
                "text_encoder": te.state_dict(), "unet": unet.state_dict()}

    train_loop(a, list(te.parameters()) + list(unet.parameters()), loss_fn, state, 1e-3)


# ---------------------------------------------------------------- adapters

class PhraseTable:
    """Frozen text-encoder outputs of every distinct token row of some arrays."""

    def __init__(self, te, rows):
        flat = np.concatenate([np.asarray(r).reshape(-1, zm.TOKENS) for r in rows])
        uniq, inv = np.unique(flat, axis=0, return_inverse=True)
        with torch.no_grad():
            self.hidden, self.pooled = te(tokens(uniq))
        self.index = {}
        self.inv = inv.reshape(-1)
        self.sizes = [np.asarray(r).reshape(-1, zm.TOKENS).shape[0] for r in rows]
        self.shapes = [np.asarray(r).shape[:-1] for r in rows]

    def indices(self, k):
        """Row indices into hidden/pooled of the k-th array, shaped like it (without T)."""
        start = sum(self.sizes[:k])
        return self.inv[start : start + self.sizes[k]].reshape(self.shapes[k])


def frozen_base(a, data):
    te, unet, ck = load_base(a.base, data)
    for p in list(te.parameters()) + list(unet.parameters()):
        p.requires_grad_(False)
    return te, unet, ck


def adapter_state(kind, ck, unet, step, extra=None):
    s = {"kind": kind, "size": ck["size"], "step": step, "used_ids": ck["used_ids"],
         "text_encoder": ck["text_encoder"], "unet": unet.state_dict()}
    s.update(extra or {})
    return s


def interact_batch(data, table, idx, slots):
    """Grounding inputs of samples idx: boxes [B,S,4] x2, masks [B,S], pooled embeddings x3."""
    rel = np.asarray(data["rel"][idx]).astype(np.int64)  # [B,R,3]
    n_rel = np.asarray(data["n_rel"][idx]).astype(np.int64)
    boxes = np.asarray(data["boxes"][idx])
    B, R = rel.shape[:2]
    rows = np.arange(B)[:, None]
    ph = table.indices(0)[idx]  # [B,I] rows of phrase_nocolour
    act = table.indices(1)  # [A]
    masks = (np.arange(R)[None, :] < n_rel[:, None]).astype(np.float32)
    sb = boxes[rows, rel[:, :, 0]] * masks[..., None]
    ob = boxes[rows, rel[:, :, 1]] * masks[..., None]
    se = table.pooled[torch.from_numpy(ph[rows, rel[:, :, 0]])]
    oe = table.pooled[torch.from_numpy(ph[rows, rel[:, :, 1]])]
    ae = table.pooled[torch.from_numpy(act[rel[:, :, 2]])]
    pad = slots - R
    f = lambda x: torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))  # noqa: E731
    out = [f(sb), f(ob), f(masks), se, oe, ae]
    if pad > 0:
        out = [torch.cat([x, torch.zeros((B, pad) + tuple(x.shape[2:]))], dim=1) for x in out]
    return out


def grounding_inputs(unet, sb, ob, masks, se, oe, ae):
    """What the fusers take: tokens, the key mask (masked slots are not attended to), regions."""
    toks, regions = unet.grounding(sb, ob, se, oe, ae)
    key = torch.cat([masks, masks, masks], dim=1)
    return toks, key, regions


def mark_cells(data, latent=8):
    """[N,1,latent,latent]: 1 where a latent cell holds a pixel of an interaction mark (the full
    render differs from the render without marks), else 0."""
    N = data.count
    out = np.zeros((N, 1, latent, latent), dtype=np.float32)
    for s in range(0, N, 2000):
        diff = (np.asarray(data["image"][s : s + 2000]) != np.asarray(data["image_nomarks"][s : s + 2000])).any(axis=1)
        f = diff.shape[-1] // latent
        out[s : s + 2000, 0] = diff.reshape(-1, latent, f, latent, f).any(axis=(2, 4))
    return torch.from_numpy(out)


def looking_subject_cells(data, latent=8):
    """[N,1,latent,latent]: 1 where a latent cell overlaps the box of the subject of a "looking at"
    relation (the dot and the shape's colour around it), else 0."""
    if "looking at" not in data.vocabulary["actions"]:
        raise ValueError(f"--subject-weight needs a file whose actions include 'looking at', got {data.vocabulary['actions']}")
    looking = data.vocabulary["actions"].index("looking at")
    rel, n_rel = np.asarray(data["rel"]), np.asarray(data["n_rel"])
    boxes = np.asarray(data["boxes"])
    out = np.zeros((data.count, 1, latent, latent), dtype=np.float32)
    for i in np.flatnonzero(n_rel > 0):
        for s, _, act in rel[i, : n_rel[i]]:
            if act == looking:
                x0, y0, x1, y1 = boxes[i, s] * latent  # cells overlapped: floor(lo) .. ceil(hi) - 1
                out[i, 0, int(np.floor(y0)) : int(np.ceil(y1)), int(np.floor(x0)) : int(np.ceil(x1))] = 1
    return torch.from_numpy(out)


def weighted_mse(pred, target, weight):
    """Mean of weight * (pred - target)^2 over the latent, weight [B,1,H,W] >= 1 per cell. A positive
    per-cell weight leaves the minimiser (the conditional mean of eps, cell by cell) unchanged: it
    only spends more of a small model's capacity and gradient on the cells it multiplies."""
    return (weight * (pred - target) ** 2).mean()


def stage_interact(a, data, size):
    te, unet, ck = frozen_base(a, data)
    size = ck["size"]
    ff = a.fuser_ff
    if a.init:  # fine-tune: the fusers and grounding of an earlier interact run (the same frozen base)
        init = torch.load(os.path.join(a.init, "model.pt"))
        if init["kind"] != "interact":
            raise ValueError(f"--init: {a.init} is a '{init['kind']}' run, not an interact one")
        ff = ff or init.get("fuser_ff", False)
    zm.add_fusers(unet, size["dim"], ff=ff)
    if a.init:  # a run without the feed-forward leaves only its (zero-gated) parameters new
        missing, unexpected = unet.load_state_dict(init["unet"], strict=False)
        if unexpected or any(".ff." not in k and "gamma_ff" not in k and "ln_ff" not in k for k in missing):
            raise ValueError(f"--init: {a.init} does not match this model (missing {missing}, unexpected {unexpected})")
    z_all = latents(a.vae, data, "image")
    table = PhraseTable(te, [data[a.phrases], data["action_tokens"]])
    diff = Diffusion()
    empty = tokens(data["empty_tokens"])
    pool = np.flatnonzero(np.asarray(data["n_rel"]) > 0) if a.relations_only else np.arange(data.count)
    slots = data.max_relations
    weight_all = 1 + a.mark_weight * mark_cells(data, z_all.shape[-1])
    if a.subject_weight > 0:
        weight_all += a.subject_weight * looking_subject_cells(data, z_all.shape[-1])

    def loss_fn(step, rng):
        idx = np.sort(rng.choice(pool, size=min(a.batch, len(pool)), replace=False))
        ids = tokens(data[a.caption][idx])
        drop = drop_mask(rng, len(idx), a.drop)
        ids[drop] = empty
        with torch.no_grad():
            ctx, _ = te(ids)
        sb, ob, masks, se, oe, ae = interact_batch(data, table, idx, slots)
        masks = masks * (~drop).float()[:, None]
        grounding = grounding_inputs(unet, sb, ob, masks, se, oe, ae)
        zt, t, eps = diff.noised(z_all[idx], rng)
        return weighted_mse(unet(zt, t, ctx, {"grounding": grounding}), eps, weight_all[idx])

    params = [p for n, p in unet.named_parameters() if "fuser" in n or "grounding" in n]
    train_loop(a, params, loss_fn, lambda s: adapter_state("interact", ck, unet, s, {"fuser_ff": ff}), 1e-3)


def migc_instances(unet, table, data, idx, rows):
    """MIGC-mini inputs of samples idx: embeds [B,I,78,D], masks, supplement, rows, boxes."""
    n = torch.from_numpy(np.asarray(data["n_inst"][idx]).astype(np.int64))
    boxes = torch.from_numpy(np.asarray(data["boxes"][idx], dtype=np.float32))
    ph = torch.from_numpy(table.indices(0)[idx])  # [B,I]
    hidden, pooled = table.hidden[ph], table.pooled[ph]  # [B,I,77,D], [B,I,D]
    emb = torch.cat([hidden, zm.migc_box_token(unet, pooled, boxes)], dim=2)
    g, s = zm.migc_masks(boxes, n)
    return {"embeds": emb, "masks": g, "supplement": s, "rows": rows, "boxes": boxes}


def stage_migc(a, data, size):
    te, unet, ck = frozen_base(a, data)
    size = ck["size"]
    zm.add_migc(unet, size["dim"])
    z_all = latents(a.vae, data, "image_nomarks")
    table = PhraseTable(te, [data["phrase"]])
    diff = Diffusion()
    empty = tokens(data["empty_tokens"])
    N = data.count

    def loss_fn(step, rng):
        idx = np.sort(rng.choice(N, size=min(a.batch, N), replace=False))
        ids = tokens(data["caption_noaction"][idx])
        drop = drop_mask(rng, len(idx), a.drop)
        ids[drop] = empty
        with torch.no_grad():
            ctx, _ = te(ids)
        inst = migc_instances(unet, table, data, idx, (~drop).float())
        zt, t, eps = diff.noised(z_all[idx], rng)
        weight = 1 + a.box_weight * (inst["masks"].sum(dim=1, keepdim=True) > 0).float()
        return weighted_mse(unet(zt, t, ctx, {"instances": inst}), eps, weight)

    params = [p for n, p in unet.named_parameters() if "migc" in n or "box_token" in n]
    train_loop(a, params, loss_fn, lambda s: adapter_state("migc", ck, unet, s), 1e-3)


def stage_ipadapter(a, data, size):
    te, unet, ck = frozen_base(a, data)
    size = ck["size"]
    zm.add_ip(unet)
    enc, proj = zm.ImageEncoder(embed=size["dim"]), zm.ImageProj(embed=size["dim"], dim=size["dim"])
    z_all = latents(a.vae, data, "image")
    diff = Diffusion()
    empty = tokens(data["empty_tokens"])
    N = data.count

    def loss_fn(step, rng):
        idx = np.sort(rng.choice(N, size=min(a.batch, N), replace=False))
        B = len(idx)
        ids = tokens(data["caption_nostyle"][idx])
        r = rng.random(B)  # drop text (r < d/2 or r in [d, 1.5d)), image (r < d) : both with p = d/2
        drop_text = torch.from_numpy((r < a.drop / 2) | ((r >= a.drop) & (r < 1.5 * a.drop)))
        drop_img = torch.from_numpy(r < a.drop)
        ids[drop_text] = empty
        with torch.no_grad():
            ctx, _ = te(ids)
        e = enc(zm.clip_normalize(torch.from_numpy(np.asarray(data["style_ref"][idx]))))
        e = e * (~drop_img).float()[:, None]
        ip = proj(e)
        zt, t, eps = diff.noised(z_all[idx], rng)
        return F.mse_loss(unet(zt, t, ctx, {"ip": ip, "ip_scale": 1.0}), eps)

    params = [p for n, p in unet.named_parameters() if "_ip" in n] + list(enc.parameters()) + list(proj.parameters())
    state = lambda s: adapter_state("ipadapter", ck, unet, s, {"image_encoder": enc.state_dict(), "image_proj": proj.state_dict()})  # noqa: E731
    train_loop(a, params, loss_fn, state, 1e-3)


def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    data = MiniMig(a.data)
    size = SIZES["smoke" if a.smoke else "full"]
    with open(os.path.join(a.out, "args.json"), "w") as f:
        json.dump(vars(a), f, indent=1)
    t0 = time.time()
    {"vae": stage_vae, "base": stage_base, "interact": stage_interact, "migc": stage_migc, "ipadapter": stage_ipadapter}[a.stage](a, data, size)
    print(f"{a.stage}: {a.steps} steps in {time.time() - t0:.0f} s -> {a.out}/model.pt", flush=True)


if __name__ == "__main__":
    main()
