"""Export trained mini-zoo runs as ONNX model folders that meet docs/models.md's contracts.

  python3 train/export.py --runs train/runs --out models/mini-zoo [--check-dir DIR]

writes models/mini-zoo/{base,interactdiffusion-mini,migc-mini,ipadapter-mini}/ in optimum's
layout: model_index.json, scheduler/scheduler_config.json, tokenizer/ (copied from
models/mini-zoo/tokenizer/), text_encoder/model.onnx, unet/model.onnx, vae_decoder/model.onnx
(+ config.json), amdm.json, and the family extras (migc: plain/model.onnx; ipadapter:
image_encoder/model.onnx, image_proj/model.onnx). Weights are rounded to float16 and stored as
float16 initializers with a Cast (graph inputs and outputs stay float32).

With --check-dir, it also writes, per graph, random inputs and the torch outputs (check.json +
check.bin) that train/check-onnx.ts feeds to onnxruntime-node and compares.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import zoo_models as zm  # noqa: E402
from amdm_tools.export import common  # noqa: E402

OPSET = 17
SD_SCALING_FACTOR = 0.18215
INTERACT_SLOTS = 30
IP_TOKENS = 4
STANDARD = {"sample": "latent", "timestep": "timestep", "encoder_hidden_states": "text"}
FOLDERS = {"base": "base", "interact": "interactdiffusion-mini", "migc": "migc-mini", "ipadapter": "ipadapter-mini"}
SCHEDULER = {
    "_class_name": "DDIMScheduler", "_diffusers_version": "0.27.0", "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
    "clip_sample_range": 1.0, "dynamic_thresholding_ratio": 0.995, "num_train_timesteps": 1000,
    "prediction_type": "epsilon", "rescale_betas_zero_snr": False, "sample_max_value": 1.0,
    "set_alpha_to_one": False, "steps_offset": 1, "thresholding": False,
    "timestep_spacing": "leading", "trained_betas": None,
}
MODEL_INDEX = {
    "_class_name": "ORTStableDiffusionPipeline", "_diffusers_version": "0.27.0",
    "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
    "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["onnxruntime", "ORTModelTextEncoder"],
    "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["onnxruntime", "ORTModelUnet"],
    "vae_decoder": ["onnxruntime", "ORTModelVaeDecoder"],
}


# ---------------------------------------------------------------- wrappers (the ONNX contracts)

class TextEncoderGraph(torch.nn.Module):
    def __init__(self, te):
        super().__init__()
        self.te = te

    def forward(self, input_ids):
        return self.te(input_ids)


class VaeDecoderGraph(torch.nn.Module):
    """latent_sample = latents / 0.18215 (what the pipeline feeds) -> sample in [-1, 1]."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample * SD_SCALING_FACTOR)


def batch_t(sample, timestep):
    return timestep.reshape(1).expand(sample.shape[0])


class BaseUnetGraph(torch.nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, batch_t(sample, timestep), encoder_hidden_states)


class InteractUnetGraph(torch.nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, subject_boxes, object_boxes, masks,
                subject_positive_embeddings, object_positive_embeddings, action_positive_embeddings):
        toks, regions = self.unet.grounding(subject_boxes, object_boxes, subject_positive_embeddings,
                                            object_positive_embeddings, action_positive_embeddings)
        keep = torch.cat([masks, masks, masks], dim=1)
        grounding = (toks, keep, regions)
        return self.unet(sample, batch_t(sample, timestep), encoder_hidden_states, {"grounding": grounding})


class MigcUnetGraph(torch.nn.Module):
    """MIGC graph: instance tensors without batch (n instances), applied to the conditional
    rows (the second half of the batch) only."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, instance_embeddings, instance_pooler,
                instance_boxes, guidance_mask, supplement_mask):
        B = sample.shape[0]
        xyxy = torch.stack([instance_boxes[:, 0], instance_boxes[:, 2], instance_boxes[:, 1], instance_boxes[:, 3]], dim=1)
        tok = zm.migc_box_token(self.unet, instance_pooler[:, 0], xyxy)
        emb = torch.cat([instance_embeddings, tok], dim=1).unsqueeze(0)
        emb = emb.expand(B, emb.shape[1], emb.shape[2], emb.shape[3])
        masks = guidance_mask.expand(B, guidance_mask.shape[1], guidance_mask.shape[2], guidance_mask.shape[3])
        supp = supplement_mask.expand(B, 1, supplement_mask.shape[2], supplement_mask.shape[3])
        rows = (torch.arange(B) * 2 >= B).float()
        boxes = xyxy.unsqueeze(0).expand(B, xyxy.shape[0], 4)
        inst = {"embeds": emb, "masks": masks, "supplement": supp, "rows": rows, "boxes": boxes}
        return self.unet(sample, batch_t(sample, timestep), encoder_hidden_states, {"instances": inst})


class IpUnetGraph(torch.nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, ip_scale):
        text = encoder_hidden_states[:, : zm.TOKENS]
        ip = encoder_hidden_states[:, zm.TOKENS :]
        return self.unet(sample, batch_t(sample, timestep), text, {"ip": ip, "ip_scale": ip_scale})


# ---------------------------------------------------------------- export helpers

def round_fp16(module):
    """Round every parameter to float16 precision (the exported weights are stored as float16)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.half().float())
    return module


def fp16_initializers(path, min_size=64):
    """Store float32 initializers that are exactly float16 values (the rounded weights) as
    float16 + a Cast back to float32 (amdm_tools.export.common.fp16_initializers, which
    `amdm export --fp16` uses too), so the graph's arithmetic and its inputs/outputs are
    unchanged and the file is half the size."""
    m = onnx.load(path)
    common.fp16_initializers(m, min_size=min_size)
    onnx.checker.check_model(m)
    tmp = path + ".tmp"
    onnx.save(m, tmp)
    os.replace(tmp, path)


def export(module, args, path, inputs, outputs, dynamic, check_dir=None, check_name=None):
    """torch.onnx.export + fp16 initializers; with check_dir, save inputs and torch outputs."""
    module.eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True)
        fp16_initializers(path)
        if check_dir:
            ref = module(*args)
            ref = list(ref) if isinstance(ref, (tuple, list)) else [ref]
            write_check(os.path.join(check_dir, check_name), path, dict(zip(inputs, args)), dict(zip(outputs, ref)))


def write_check(folder, model, inputs, outputs):
    os.makedirs(folder, exist_ok=True)
    blob, entries = bytearray(), {"model": os.path.abspath(model), "inputs": [], "outputs": []}
    for kind, d in (("inputs", inputs), ("outputs", outputs)):
        for name, t in d.items():
            a = t.detach().numpy()
            dtype = {np.dtype("float32"): "float32", np.dtype("int64"): "int64"}[a.dtype]
            entries[kind].append({"name": name, "dtype": dtype, "dims": list(a.shape), "offset": len(blob), "length": int(a.size)})
            blob += a.astype(a.dtype.newbyteorder("<")).tobytes()
    with open(os.path.join(folder, "check.bin"), "wb") as f:
        f.write(blob)
    with open(os.path.join(folder, "check.json"), "w") as f:
        json.dump(entries, f, indent=1)


# ---------------------------------------------------------------- loading runs

def load(path):
    return torch.load(path)


def text_encoder_of(ck):
    te = zm.TextEncoder(ck["used_ids"], dim=ck["size"]["dim"])
    te.load_state_dict(ck["text_encoder"])
    return round_fp16(te.eval())


def unet_of(ck):
    size = ck["size"]
    unet = zm.UNet(ctx_dim=size["dim"], ch=size["ch"])
    if ck["kind"] == "interact":
        zm.add_fusers(unet, size["dim"], ff=ck.get("fuser_ff", False))
    elif ck["kind"] == "migc":
        zm.add_migc(unet, size["dim"])
    elif ck["kind"] == "ipadapter":
        zm.add_ip(unet)
    unet.load_state_dict(ck["unet"])
    return round_fp16(unet.eval())


def vae_of(path):
    ck = load(path)
    vae = zm.VAE(ck["size"]["vae_ch"])
    vae.load_state_dict(ck["state"])
    return round_fp16(vae.eval())


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(json.dumps(obj, indent=2) + "\n")


def write_style_png(path, data_file, index=0):
    """A style reference from the training data (background-only render) as a PNG, for jobs."""
    from PIL import Image
    from minimig import MiniMig
    im = np.asarray(MiniMig(data_file)["style_ref"][index]).transpose(1, 2, 0)
    Image.fromarray(np.ascontiguousarray(im)).save(path)


def export_folder(kind, ck, vae, tokenizer_dir, out_dir, check_dir, seed, data_file=None):
    """Write one model folder into out_dir (a fresh temp folder)."""
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    D = ck["size"]["dim"]
    te, unet = text_encoder_of(ck), unet_of(ck)
    write_json(os.path.join(out_dir, "model_index.json"), MODEL_INDEX)
    write_json(os.path.join(out_dir, "scheduler/scheduler_config.json"), SCHEDULER)
    write_json(os.path.join(out_dir, "vae_decoder/config.json"), {
        "_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 4,
        "sample_size": 32, "scaling_factor": SD_SCALING_FACTOR})
    shutil.copytree(tokenizer_dir, os.path.join(out_dir, "tokenizer"))
    cd = lambda name: check_dir and os.path.join(check_dir, FOLDERS[kind])  # noqa: E731
    ids = torch.full((2, zm.TOKENS), 49407, dtype=torch.int64)
    used = torch.tensor(ck["used_ids"][:8], dtype=torch.int64)
    ids[:, 0] = 49406
    ids[0, 1 : 1 + len(used)] = used
    ids[1, 1:4] = used[:3]
    export(TextEncoderGraph(te), (ids,), os.path.join(out_dir, "text_encoder/model.onnx"), ["input_ids"],
           ["last_hidden_state", "pooler_output"], {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}},
           cd(kind), "text_encoder")
    export(VaeDecoderGraph(vae), (rnd(2, 4, 8, 8) * 5,), os.path.join(out_dir, "vae_decoder/model.onnx"), ["latent_sample"], ["sample"],
           {"latent_sample": {0: "batch"}, "sample": {0: "batch"}}, cd(kind), "vae_decoder")
    x, t, text = rnd(2, 4, 8, 8), torch.tensor(601.0), rnd(2, zm.TOKENS, D)
    bdyn = {"sample": {0: "batch"}, "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch"}}
    std_in = ["sample", "timestep", "encoder_hidden_states"]
    unet_path = os.path.join(out_dir, "unet/model.onnx")
    if kind == "base":
        export(BaseUnetGraph(unet), (x, t, text), unet_path, std_in, ["out_sample"], bdyn, cd(kind), "unet")
        manifest = {"family": "sd", "unet": {"inputs": STANDARD}}
    elif kind == "interact":
        S = INTERACT_SLOTS
        masks = torch.zeros(2, S)
        masks[1, :2] = 1
        boxes = lambda: torch.rand(2, S, 2, generator=g).mul(0.5).repeat(1, 1, 2) + torch.tensor([0, 0, 0.3, 0.4])  # noqa: E731
        names = std_in + ["subject_boxes", "object_boxes", "masks", "subject_positive_embeddings", "object_positive_embeddings", "action_positive_embeddings"]
        args = (x, t, text, boxes(), boxes(), masks, rnd(2, S, D), rnd(2, S, D), rnd(2, S, D))
        dyn = dict(bdyn, **{n: {0: "batch"} for n in names[3:]})
        export(InteractUnetGraph(unet), args, unet_path, names, ["out_sample"], dyn, cd(kind), "unet")
        roles = ["subject_boxes", "object_boxes", "masks", "subject_embeddings", "object_embeddings", "action_embeddings"]
        manifest = {"family": "interactdiffusion", "unet": {"inputs": dict(STANDARD, **dict(zip(names[3:], roles)))}}
    elif kind == "migc":
        n = 3
        xyxy = torch.tensor([[0.1, 0.1, 0.4, 0.45], [0.5, 0.2, 0.9, 0.6], [0.3, 0.55, 0.7, 0.95]])
        gm, sm = zm.migc_masks(xyxy[None], torch.tensor([n]))
        names = std_in + ["instance_embeddings", "instance_pooler", "instance_boxes", "guidance_mask", "supplement_mask"]
        args = (x, t, text, rnd(n, zm.TOKENS, D), rnd(n, 1, D), xyxy[:, [0, 2, 1, 3]].contiguous(), gm, sm)
        dyn = dict(bdyn, instance_embeddings={0: "n"}, instance_pooler={0: "n"}, instance_boxes={0: "n"}, guidance_mask={1: "n"})
        export(MigcUnetGraph(unet), args, unet_path, names, ["out_sample"], dyn, cd(kind), "unet")
        plain = unet_of(dict(ck, kind="base", unet={k: v for k, v in ck["unet"].items() if ".migc." not in k and not k.startswith("box_token")}))
        export(BaseUnetGraph(plain), (x, t, text), os.path.join(out_dir, "plain/model.onnx"), std_in, ["out_sample"], bdyn, cd(kind), "plain")
        manifest = {"family": "migc",
                    "unet": {"inputs": dict(STANDARD, instance_embeddings="instance_embeddings", instance_pooler="instance_pooler",
                                            instance_boxes="instance_boxes", guidance_mask="guidance_mask", supplement_mask="supplement_mask")},
                    "graphs": {"plain": {"file": "plain/model.onnx", "inputs": STANDARD}}}
    elif kind == "ipadapter":
        enc = zm.ImageEncoder(embed=D)
        enc.load_state_dict(ck["image_encoder"])
        proj = zm.ImageProj(embed=D, dim=D, tokens=IP_TOKENS)
        proj.load_state_dict(ck["image_proj"])
        round_fp16(enc.eval())
        round_fp16(proj.eval())
        pix = zm.clip_normalize(torch.randint(0, 256, (1, 3, 32, 32), generator=g))
        export(enc, (pix,), os.path.join(out_dir, "image_encoder/model.onnx"), ["pixel_values"], ["image_embeds"],
               {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, cd(kind), "image_encoder")
        export(proj, (rnd(2, D),), os.path.join(out_dir, "image_proj/model.onnx"), ["image_embeds"], ["ip_tokens"],
               {"image_embeds": {0: "batch"}, "ip_tokens": {0: "batch"}}, cd(kind), "image_proj")
        args = (x, t, rnd(2, zm.TOKENS + IP_TOKENS, D), torch.tensor(0.8))
        export(IpUnetGraph(unet), args, unet_path, std_in + ["ip_scale"], ["out_sample"], bdyn, cd(kind), "unet")
        manifest = {"family": "ipadapter", "unet": {"inputs": dict(STANDARD, ip_scale="scale")}}
        if data_file:
            write_style_png(os.path.join(out_dir, "style.png"), data_file)
    write_json(os.path.join(out_dir, "amdm.json"), manifest)


def fix_check_paths(folder, tmp, final):
    """Point the check files at the folder's final place (they were written from the temp one)."""
    for name in os.listdir(folder):
        p = os.path.join(folder, name, "check.json")
        if os.path.isfile(p):
            with open(p) as f:
                c = json.load(f)
            c["model"] = os.path.join(os.path.abspath(final), os.path.relpath(c["model"], os.path.abspath(tmp)))
            with open(p, "w") as f:
                json.dump(c, f, indent=1)


def export_run(kind, run_dir, vae_dir, tokenizer_dir, out_root, check_dir, seed=0, data_file=None):
    """Export one run into out_root/<folder>, replacing the old folder only when complete."""
    ck = load(os.path.join(run_dir, "model.pt"))
    vae = vae_of(os.path.join(vae_dir, "model.pt"))
    final = os.path.join(out_root, FOLDERS[kind])
    os.makedirs(out_root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{FOLDERS[kind]}.", dir=out_root)
    try:
        export_folder(kind, ck, vae, tokenizer_dir, tmp, check_dir, seed, data_file)
        if os.path.exists(final):
            old = final + ".old"
            os.replace(final, old)
            shutil.rmtree(old)
        os.replace(tmp, final)
        if check_dir:
            fix_check_paths(os.path.join(check_dir, FOLDERS[kind]), tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def write_builder_check(check_dir, seed=0):
    """The trainer's MIGC masks and CLIP normalisation on a few boxes and one random image, for
    train/check-onnx.ts to compare with migcMasks() and clipImagePreprocess()."""
    g = torch.Generator().manual_seed(seed)
    boxes = [[0.1, 0.05, 0.45, 0.5], [0.33, 0.4, 0.9, 0.77], [0.0, 0.6, 0.25, 1.0], [0.51, 0.13, 0.62, 0.29]]
    gm, sm = zm.migc_masks(torch.tensor([boxes]), torch.tensor([len(boxes)]))
    img = torch.randint(0, 256, (1, 3, 32, 32), generator=g)
    pv = zm.clip_normalize(img)
    write_json(os.path.join(check_dir, "builders.json"), {
        "boxes": boxes, "latent": 8, "guidance": gm.flatten().tolist(), "supplement": sm.flatten().tolist(),
        "image": img.flatten().tolist(), "pixel_values": pv.flatten().tolist()})


def main(argv=None):
    ap = argparse.ArgumentParser(description="export mini-zoo runs as ONNX model folders")
    ap.add_argument("--runs", required=True, help="folder with vae/, base/, interact/, migc/, ipadapter/ runs")
    ap.add_argument("--out", required=True, help="output root (models/mini-zoo)")
    ap.add_argument("--tokenizer", help="tokenizer folder to copy (default: <out>/tokenizer)")
    ap.add_argument("--only", nargs="*", choices=list(FOLDERS), help="export only these runs")
    ap.add_argument("--data", help="MiniMIG file: ipadapter-mini/style.png is its first style reference")
    ap.add_argument("--check-dir", help="write check inputs/outputs for train/check-onnx.ts here")
    a = ap.parse_args(argv)
    torch.manual_seed(0)
    tok = a.tokenizer or os.path.join(a.out, "tokenizer")
    if not os.path.isfile(os.path.join(tok, "vocab.json")):
        ap.error(f"--tokenizer: {tok} has no vocab.json")
    if a.check_dir:
        write_builder_check(a.check_dir)
    for kind in a.only or list(FOLDERS):
        run = os.path.join(a.runs, kind)
        if not os.path.isfile(os.path.join(run, "model.pt")):
            print(f"skip {kind}: {run}/model.pt does not exist")
            continue
        print("wrote", export_run(kind, run, os.path.join(a.runs, "vae"), tok, a.out, a.check_dir, data_file=a.data), flush=True)


if __name__ == "__main__":
    main()
