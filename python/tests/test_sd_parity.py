"""`amdm export sd` on a random-weight SD-1.x checkpoint in diffusers' format, then `amdm generate`
against diffusers' StableDiffusionPipeline + DDIMScheduler with the same prompt, negative prompt,
guidance, steps and initial latents (`"noise": "torch"` = diffusers' CPU generator): final latents
within 1e-3 relative, decoded images within 2/255. Also the `--fp16` export (weights stored as
float16, sharded external data) against diffusers with the weights rounded to float16."""
from __future__ import annotations

import json

import numpy as np
import torch

from amdm_tools.export.common import round_to_fp16
from conftest import amdm
from parity import IMAGE_TOLERANCE, LATENT_TOLERANCE, decode_like_diffusers, generate, max_pixel_difference, relative_error

PROMPT = "a red cube left of a blue sphere"
NEGATIVE = "blurry, low quality"
JOB = {"prompt": PROMPT, "negativePrompt": NEGATIVE, "steps": 6, "guidance": 7.5, "seed": 11}


def diffusers_run(folder, *, fp16: bool = False, steps=JOB["steps"], seed=JOB["seed"]):
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(folder), safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    if fp16:
        for m in (pipe.unet, pipe.vae, pipe.text_encoder):
            round_to_fp16(m)
    latents = pipe(PROMPT, negative_prompt=NEGATIVE, num_inference_steps=steps, guidance_scale=JOB["guidance"],
                   generator=torch.Generator().manual_seed(seed), output_type="latent", height=64, width=64).images
    return latents, decode_like_diffusers(pipe.vae, latents)


def test_generate_matches_diffusers(tiny_sd, tiny_sd_onnx, tmp_path):
    tiny, onnx = tiny_sd, tiny_sd_onnx
    manifest = json.loads((onnx / "amdm.json").read_text())
    assert manifest["family"] == "sd"
    report = json.loads((onnx / "export.json").read_text())
    assert all(g["max_relative_error"] <= 1e-4 for g in report["graphs"])
    ours = generate(tmp_path, "amdm", {**JOB, "models": [{"folder": str(onnx)}]})
    latents, image = diffusers_run(tiny)
    assert relative_error(ours["latents"], latents.numpy(), "sd fp32 latents") <= LATENT_TOLERANCE
    assert max_pixel_difference(ours["image"], image, "sd fp32 image") <= IMAGE_TOLERANCE
    # the comparison can fail: another seed gives other latents
    other, _ = diffusers_run(tiny, seed=JOB["seed"] + 1)
    assert relative_error(ours["latents"], other.numpy()) > 0.1


def test_fp16_export_matches_diffusers_with_rounded_weights(tiny_sd, tmp_path):
    tiny = tiny_sd
    onnx = tmp_path / "onnx16"
    amdm("export", "sd", "--from", str(tiny), "--out", str(onnx), "--fp16", "--external-data", "always")
    assert (onnx / "unet" / "model.onnx_data").is_file()
    ours = generate(tmp_path, "amdm16", {**JOB, "models": [{"folder": str(onnx)}]})
    assert np.all(np.isfinite(ours["latents"]))
    assert ours["image"].std() > 1  # not a flat (black) image
    latents, image = diffusers_run(tiny, fp16=True)
    assert relative_error(ours["latents"], latents.numpy(), "sd fp16 latents") <= LATENT_TOLERANCE
    assert max_pixel_difference(ours["image"], image, "sd fp16 image") <= IMAGE_TOLERANCE
    # the weights are float16: the fp32 unet file is about twice the fp16 one
    fp16_report = json.loads((onnx / "export.json").read_text())
    unet = next(g for g in fp16_report["graphs"] if g["file"] == "unet/model.onnx")
    assert unet["fp16_initializers"] > 0 and unet["files"] == ["unet/model.onnx_data"]
