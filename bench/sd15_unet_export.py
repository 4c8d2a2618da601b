"""Export a full-size random-weight SD-1.5 UNet with amdm's exporter (amdm_tools.export.common),
fp32 with external data or fp16, and report time, peak memory (this process's max RSS) and sizes.

  .venv/bin/python bench/sd15_unet_export.py --out <folder> [--fp16]

Run each variant in its own process (peak RSS is per process). The weights are random (no hub is
reachable); the graph, sizes and costs are those of runwayml/stable-diffusion-v1-5's UNet config.
The check against torch runs as in `amdm export` (batch 2 and batch 1, relative error ≤ 1e-4).
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import torch  # noqa: E402

from amdm_tools.export.common import STANDARD_UNET_INPUTS, export_graph, round_to_fp16, seeded  # noqa: E402
from amdm_tools.export.sd import UnetGraph, unet_dynamic_axes  # noqa: E402

# runwayml/stable-diffusion-v1-5 unet/config.json (the fields that differ from diffusers' defaults)
SD15_UNET = dict(sample_size=64, cross_attention_dim=768, attention_head_dim=8, block_out_channels=(320, 640, 1280, 1280),
                 layers_per_block=2, norm_num_groups=32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--fp16", action="store_true")
    a = ap.parse_args()
    from diffusers import UNet2DConditionModel

    t0 = time.time()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD15_UNET).eval()
    params = sum(p.numel() for p in unet.parameters())
    if a.fp16:
        round_to_fp16(unet)
    t1 = time.time()
    rnd = seeded(0)
    args = (rnd(2, 4, 64, 64), torch.tensor(601.0), rnd(2, 77, 768))
    check = [(rnd(1, 4, 64, 64), torch.tensor(1.0), rnd(1, 77, 768))]
    os.makedirs(a.out, exist_ok=True)
    r = export_graph(a.out, "unet/model.onnx", UnetGraph(unet), args, list(STANDARD_UNET_INPUTS), ["out_sample"],
                     unet_dynamic_axes(dynamic_size=False), fp16=a.fp16, external="auto", check_args=check)
    t2 = time.time()
    files = {f: os.path.getsize(os.path.join(a.out, "unet", f)) for f in sorted(os.listdir(os.path.join(a.out, "unet")))}
    print(json.dumps({
        "fp16": a.fp16, "parameters": params, "build_s": round(t1 - t0, 1), "export_and_check_s": round(t2 - t1, 1),
        "max_relative_error": r.max_relative_error, "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "files": files, "torch": torch.__version__}, indent=1))


if __name__ == "__main__":
    main()
