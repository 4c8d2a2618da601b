"""Save a grid of 32x32 images as a PNG: data renders, or VAE reconstructions of them.

  python3 train/show.py --data FILE --out grid.png [--array image] [--vae RUN] [--count 16]
"""
import argparse
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimig import MiniMig  # noqa: E402


def grid(images, cols=8, scale=4):
    """images uint8 [N,3,32,32] -> one RGB PIL image."""
    n = len(images)
    rows = (n + cols - 1) // cols
    out = np.zeros((rows * 34, cols * 34, 3), np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        out[r * 34 + 1 : r * 34 + 33, c * 34 + 1 : c * 34 + 33] = im.transpose(1, 2, 0)
    return Image.fromarray(out).resize((out.shape[1] * scale, out.shape[0] * scale), Image.NEAREST)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--array", default="image")
    ap.add_argument("--vae")
    ap.add_argument("--count", type=int, default=16)
    a = ap.parse_args()
    d = MiniMig(a.data)
    ims = np.asarray(d[a.array][: a.count])
    if a.vae:
        from train import load_vae, u8_to_float
        vae = load_vae(a.vae)
        with torch.no_grad():
            rec = vae.decode(vae.encode(u8_to_float(ims)))
        rec = ((rec.clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
        ims = np.concatenate([ims, rec])
    grid(ims).save(a.out)


if __name__ == "__main__":
    main()
