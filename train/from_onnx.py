"""Rebuild train.py checkpoints from exported mini-zoo folders, so a committed model can be
fine-tuned without its training runs.

  python3 train/from_onnx.py --zoo models/mini-zoo --out train/runs/onnx [--only base interact vae]

writes <out>/base/model.pt (text encoder + base UNet, from base/), <out>/interact/model.pt
(InteractDiffusion-mini, from interactdiffusion-mini/) and <out>/vae/model.pt (the VAE decoder
and latent_scale from base/vae_decoder/; the encoder is not exported, so it is freshly
initialised and marked `"encoder": "untrained"`: refit it against the frozen decoder with
`train.py vae --init <out>/vae --freeze-decoder`).

The exporter (export.py) names most initializers after their parameters, but folds some into
anonymous constants (a Linear's transposed weight before a MatMul, a GroupNorm's weight reshaped
to [C,1,1], a row of a parameter); those are placed by the scope of the node that uses them
(`/unet/t1/attn2/to_q/MatMul` -> unet.t1.attn2.to_q.weight, transposed). The rebuilt model is then run against onnxruntime on the committed graph (random
inputs; the largest difference is printed and must be below 1e-4 of the output's scale).
"""
import argparse
import os
import re
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export as ex  # noqa: E402
import zoo_models as zm  # noqa: E402

def graph_weights(path):
    """The graph's initializers as {name: float32 or int array} ('_fp16' names lose the suffix, as
    the Cast after them names its output; an Identity's output is an alias of its input) and, for
    each, its uses: (node name, op, input index)."""
    m = onnx.load(path)
    arrays, uses = {}, {}
    for t in m.graph.initializer:
        a = numpy_helper.to_array(t)
        name = t.name[: -len("_fp16")] if t.name.endswith("_fp16") else t.name
        arrays[name] = a.astype(np.float32) if a.dtype == np.float16 else a
    for n in m.graph.node:  # the exporter shares equal initializers through Identity nodes: aliases
        if n.op_type == "Identity" and n.input[0] in arrays:
            arrays[n.output[0]] = arrays[n.input[0]]
    for n in m.graph.node:
        for k, i in enumerate(n.input):
            if i in arrays and n.op_type not in ("Cast", "Identity"):
                uses.setdefault(i, []).append((n.name, n.op_type, k))
    return arrays, uses


def scope(node_name):
    """'/unet/t1/attn2/to_q/MatMul' -> ('unet.t1.attn2.to_q', 'MatMul', 0),
    '/grounding/inst/inst.0/MatMul' -> ('grounding.inst.0', 'MatMul', 0); a repeated call's
    '_k' suffix is dropped from the path and returned as the call index k."""
    parts = node_name.strip("/").split("/")
    calls = [int(m.group(1)) for p in parts[:-1] if (m := re.search(r"_(\d+)$", p))]
    names = [re.sub(r"_\d+$", "", p) for p in parts[:-1]]
    # a Sequential's child is scoped '<parent>/<parent>.<i>': keep '<i>'
    names = [n[len(prev) + 1 :] if prev and n.startswith(prev + ".") else n for prev, n in zip([""] + names, names)]
    return ".".join(names), parts[-1], max(calls, default=0)


# (op, input index) -> (parameter of the node's module, how the initializer holds it)
ROLES = {("MatMul", 1): ("weight", "T"), ("Gemm", 1): ("weight", "same"), ("Gemm", 2): ("bias", "same"),
         ("Conv", 1): ("weight", "same"), ("Conv", 2): ("bias", "same"),
         ("LayerNormalization", 1): ("weight", "same"), ("LayerNormalization", 2): ("bias", "same"),
         ("Mul", 1): ("weight", "same"), ("Add", 1): ("bias", "same"), ("Gather", 0): ("weight", "same")}


def targets(name, uses, params):
    """Where an initializer goes: [(parameter, 'same' | 'T' | ('row', k))]. A named initializer is
    its parameter or buffer; each use of it also names the parameter of the module that uses it
    (the exporter keeps one copy of initializers with equal values): a MatMul's transposed Linear
    weight, a Gemm's, Conv's or LayerNorm's weight and bias, a GroupNorm's weight and bias as
    [C,1,1] (the Mul and the Add in its scope), an Embedding (Gather), InteractGrounding's role
    embedding of token k (its Add, Add_2, Add_4: subject, object, action). Calls made outside the
    wrapped module (the grounding) have no 'unet' in their scope; the text encoder's layers (a
    ModuleList of ModuleDicts) leave 'layers.k' out of it, and layer k's nodes carry '_k'."""
    out = [(name, "same")] if name in params else []
    for node, op, k in uses.get(name, []):
        path, last, call = scope(node)
        if path.endswith("grounding") and op == "Add":
            dest, how = f"{path}.role", ("row", int(last[4:] or 0) // 2)
        elif (op, k) in ROLES or (op in ("Mul", "Add") and k == 0):
            attr, how = ROLES.get((op, k), ROLES.get((op, 1)))
            dest = f"{path}.{attr}"
        else:
            continue
        head, _, rest = dest.partition(".")
        d = next((d for d in (dest, "unet." + dest, f"{head}.layers.{call}.{rest}") if d in params), None)
        if d is not None and (d, how) not in out:
            out.append((d, how))
    return out


def rebuild(graph, path, absent=()):
    """Load the committed graph's weights into the module `graph` wraps; every parameter must be
    filled except those whose names start with one of `absent` (not part of the graph)."""
    arrays, uses = graph_weights(path)
    params = dict(graph.named_parameters())
    params.update(dict(graph.named_buffers()))
    filled = set()
    with torch.no_grad():
        for name, a in arrays.items():
            for pname, how in targets(name, uses, params):  # none: a constant made from buffers (timestep frequencies)
                t = params[pname]
                v = torch.from_numpy(np.ascontiguousarray(a.T if how == "T" else a)).to(t.dtype)
                if isinstance(how, tuple):
                    t[how[1]] = v.reshape(t.shape[1:])
                    filled.add(f"{pname}[{how[1]}]")
                elif v.numel() == t.numel():  # else a use that is not this parameter (an Add of a buffer)
                    t.copy_(v.reshape(t.shape))
                    filled.add(pname)
    rows = lambda n, p: [f"{n}[{k}]" for k in range(p.shape[0])]  # noqa: E731
    missing = [n for n, p in graph.named_parameters()
               if n not in filled and not all(r in filled for r in rows(n, p)) and not n.startswith(tuple(absent))]
    if missing:
        raise RuntimeError(f"{path}: no initializer found for {missing}")


def check(graph, args, names, path, label):
    """Largest |torch - onnxruntime| of the rebuilt graph on `args`, relative to the output's scale."""
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {n: a.numpy() for n, a in zip(names, args)}
    got = sess.run(None, feeds)
    with torch.no_grad():
        ref = graph(*args)
    ref = list(ref) if isinstance(ref, (tuple, list)) else [ref]
    err = max(float(np.abs(r.numpy() - g).max() / (np.abs(g).max() + 1e-12)) for r, g in zip(ref, got))
    print(f"{label}: rebuilt vs onnxruntime, max relative difference {err:.2e}")
    if err > 1e-4:
        raise RuntimeError(f"{label}: the rebuilt model differs from {path} by {err:.2e} (> 1e-4)")


def sizes(zoo, folder):
    """train.py's size dict of a folder, read off its weights' shapes: text width, UNet channels, VAE channels."""
    w = lambda part: graph_weights(os.path.join(zoo, folder, part, "model.onnx"))[0]  # noqa: E731
    return {"dim": int(w("text_encoder")["te.pos"].shape[1]), "ch": int(w("unet")["unet.conv_in.weight"].shape[0]),
            "vae_ch": int(w("vae_decoder")["vae.dec.0.weight"].shape[0])}


def text_encoder(zoo, folder, size):
    path = os.path.join(zoo, folder, "text_encoder", "model.onnx")
    remap = graph_weights(path)[0]["te.remap"]
    order = np.argsort(remap[remap > 0])
    used = [int(i) for i in np.flatnonzero(remap > 0)[order]]  # used_ids[k] has compact id k + 1
    te = zm.TextEncoder(used, dim=size["dim"])
    ids = torch.full((2, zm.TOKENS), 49407, dtype=torch.int64)
    ids[:, 0] = 49406
    ids[0, 1:6] = torch.tensor(used[:5])
    g = ex.TextEncoderGraph(te)
    rebuild(g, path)
    check(g, (ids,), ["input_ids"], path, f"{folder}/text_encoder")
    return te, used


def unet(zoo, folder, kind, size):
    path = os.path.join(zoo, folder, "unet", "model.onnx")
    D = size["dim"]
    u = zm.UNet(ctx_dim=D, ch=size["ch"])
    g = torch.Generator().manual_seed(1)
    x, t, text = torch.randn(2, 4, 8, 8, generator=g), torch.tensor(601.0), torch.randn(2, zm.TOKENS, D, generator=g)
    names = ["sample", "timestep", "encoder_hidden_states"]
    if kind == "base":
        graph, args = ex.BaseUnetGraph(u), (x, t, text)
    else:
        uses = graph_weights(path)[1]  # a fuser feed-forward (train.py --fuser-ff) shows in the node scopes
        ff = any("/fuser/ff/" in node for us in uses.values() for node, _, _ in us)
        zm.add_fusers(u, D, ff=ff)
        S = ex.INTERACT_SLOTS
        masks = torch.zeros(2, S)
        masks[0, :2] = 1
        masks[1, :1] = 1
        lo = torch.rand(2, S, 2, generator=g) * 0.5
        sb, ob = torch.cat([lo, lo + 0.3], dim=-1), torch.cat([lo.flip(-1), lo.flip(-1) + 0.4], dim=-1)
        emb = lambda: torch.randn(2, S, D, generator=g)  # noqa: E731
        graph, args = ex.InteractUnetGraph(u), (x, t, text, sb, ob, masks, emb(), emb(), emb())
        names += ["subject_boxes", "object_boxes", "masks", "subject_positive_embeddings",
                  "object_positive_embeddings", "action_positive_embeddings"]
    rebuild(graph, path)
    check(graph, args, names, path, f"{folder}/unet")
    return u


def vae(zoo, folder, size):
    path = os.path.join(zoo, folder, "vae_decoder", "model.onnx")
    v = zm.VAE(size["vae_ch"])
    g = ex.VaeDecoderGraph(v)
    z = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(2)) * 5
    rebuild(g, path, absent=["vae.enc."])
    check(g, (z,), ["latent_sample"], path, f"{folder}/vae_decoder")
    torch.manual_seed(0)
    fresh = zm.VAE(size["vae_ch"])  # the encoder is not exported: start it from train.py's initialisation
    v.enc.load_state_dict(fresh.enc.state_dict())
    return v


def save(obj, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="rebuild train.py checkpoints from exported mini-zoo folders")
    ap.add_argument("--zoo", default="models/mini-zoo")
    ap.add_argument("--out", required=True, help="runs folder: writes base/, interact/, vae/ model.pt")
    ap.add_argument("--only", nargs="*", choices=["base", "interact", "vae"], default=["base", "interact", "vae"])
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    folders = {"base": "base", "interact": "interactdiffusion-mini", "vae": "base"}
    for kind in a.only:
        folder = folders[kind]
        size = sizes(a.zoo, folder)
        source = os.path.join(a.zoo, folder)
        if kind == "vae":
            state = {"state": vae(a.zoo, folder, size).state_dict(), "encoder": "untrained"}
        else:
            te, used = text_encoder(a.zoo, folder, size)
            u = unet(a.zoo, folder, kind, size)
            state = {"used_ids": used, "text_encoder": te.state_dict(), "unet": u.state_dict()}
            if kind == "interact":
                state["fuser_ff"] = u.t1.fuser.ff is not None
        save(dict(state, kind=kind, size=size, step=0, source=source), os.path.join(a.out, kind, "model.pt"))
    print(f"wrote {', '.join(a.only)} into {a.out}")


if __name__ == "__main__":
    main()
