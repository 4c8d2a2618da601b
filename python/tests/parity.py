"""Helpers of the parity tests: run `amdm generate` on a job and read what it wrote, compare arrays."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from conftest import amdm

LATENT_TOLERANCE = 1e-3  # relative, max |a − b| / max |b|
IMAGE_TOLERANCE = 2  # of 255


def relative_error(found, expected, what: str = "") -> float:
    """max |found − expected| / max |expected|; printed with `what` (pytest -s shows the measured values)."""
    found, expected = np.asarray(found, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert found.shape == expected.shape, f"shape {found.shape} vs {expected.shape}"
    err = float(np.max(np.abs(found - expected)) / np.max(np.abs(expected)))
    if what:
        print(f"{what}: relative error {err:.2e}")
    return err


def generate(tmp: Path, name: str, job: dict) -> dict:
    """Writes `job` (output: tmp/name), runs `amdm generate`; returns latents (numpy) and the target image."""
    out = tmp / name
    job = {"saveLatents": True, "noise": "torch", "output": str(out), **job}
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(job))
    amdm("generate", str(path), "--no-progress")
    image = np.asarray(Image.open(out / "target.png").convert("RGB"))
    return {"latents": np.load(out / "latents.npy"), "image": image, "resolved": json.loads((out / "resolved.json").read_text())}


def decode_like_diffusers(vae, latents: torch.Tensor) -> np.ndarray:
    """`StableDiffusionPipeline`'s decoding: vae.decode(latents / scaling_factor), then
    `VaeImageProcessor.postprocess` (÷2 + 0.5, clamp, ×255, round) as uint8 HWC."""
    with torch.no_grad():
        x = vae.decode(latents / vae.config.scaling_factor, return_dict=False)[0]
    x = (x / 2 + 0.5).clamp(0, 1)
    return (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def max_pixel_difference(a: np.ndarray, b: np.ndarray, what: str = "") -> int:
    assert a.shape == b.shape, f"image shape {a.shape} vs {b.shape}"
    d = int(np.max(np.abs(a.astype(np.int16) - b.astype(np.int16))))
    if what:
        print(f"{what}: max pixel difference {d}/255")
    return d
