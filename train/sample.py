"""Sample a trained base run in torch (DDIM, classifier-free guidance) on captions of the data
and save a PNG grid: the data renders in the first row(s), the samples below.

  python3 train/sample.py --data FILE --vae RUN --base RUN --out grid.png [--count 8] [--steps 25]
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimig import MiniMig  # noqa: E402
from show import grid  # noqa: E402
from train import load_base, load_vae, tokens  # noqa: E402
import zoo_models as zm  # noqa: E402


def ddim(unet, ctx, uncond, steps, guidance, seed):
    ac = zm.sd_alphas_cumprod()
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((ctx.shape[0],) + zm.LATENT, generator=g)
    ts = list(range(0, 1000, 1000 // steps))[::-1]
    for i, t in enumerate(ts):
        tt = torch.full((x.shape[0],), t)
        e = unet(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([uncond, ctx]))
        eu, ec = e.chunk(2)
        eps = eu + guidance * (ec - eu)
        a = ac[t]
        ap = ac[ts[i + 1]] if i + 1 < len(ts) else torch.tensor(1.0)
        x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        x = ap.sqrt() * x0 + (1 - ap).sqrt() * eps
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--vae", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    d = MiniMig(a.data)
    te, unet, _ = load_base(a.base, d)
    vae = load_vae(a.vae)
    idx = np.arange(d.count - a.count, d.count)
    with torch.no_grad():
        ctx, _ = te(tokens(d["caption"][idx]))
        unc, _ = te(tokens(np.repeat(np.asarray(d["empty_tokens"])[None], len(idx), 0)))
        z = ddim(unet.eval(), ctx, unc, a.steps, a.guidance, a.seed)
        img = ((vae.decode(z).clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
    grid(np.concatenate([np.asarray(d["image"][idx]), img])).save(a.out)


if __name__ == "__main__":
    main()
