"""VAE round trip of training-set renders, for the evaluator's ceiling (train/vae-ceiling.ts).

  python3 train/vae_roundtrip.py --vae train/runs/full/vae --data train/data/minimig.bin \
      --first 19000 --count 400 --out train/runs/full/vae-roundtrip.f32

Writes decode(encode(image)) clamped to [-1, 1] as float32 [count, 3, 32, 32] (little-endian).
A learned model cannot draw what the shared VAE cannot reproduce, so the evaluator's scores of
these images bound every model's scores from above.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from minimig import MiniMig  # noqa: E402
import train as T  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description="VAE round trip of training-set renders")
    ap.add_argument("--vae", required=True, help="VAE run folder")
    ap.add_argument("--data", required=True, help="MiniMIG file")
    ap.add_argument("--first", type=int, default=19000)
    ap.add_argument("--count", type=int, default=400)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    data = MiniMig(a.data)
    if not (0 <= a.first and a.count >= 1 and a.first + a.count <= data.count):
        ap.error(f"--first/--count must select samples within [0, {data.count}), got {a.first}+{a.count}")
    torch.set_num_threads(1)
    vae = T.load_vae(a.vae)
    x = T.u8_to_float(data["image"][a.first : a.first + a.count])
    with torch.no_grad():
        r = vae.decode(vae.encode(x)).clamp(-1, 1)
    tmp = a.out + ".tmp"
    r.numpy().astype("<f4").tofile(tmp)
    os.replace(tmp, a.out)
    print(f"wrote {a.out}: {a.count} round trips of samples {a.first}..{a.first + a.count - 1}")


if __name__ == "__main__":
    main()
