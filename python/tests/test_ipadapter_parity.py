"""`amdm export ipadapter` on a random-weight IP-Adapter (h94 layout: ip-adapter_sd15.bin +
image_encoder/) over the tiny SD-1.x base, then `amdm generate` with the reference image vs
diffusers' own IP-Adapter loading of the same file (`pipe.load_ip_adapter`, CLIPImageProcessor,
`set_ip_adapter_scale`): final latents within 1e-3 relative, images within 2/255."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from amdm_tools.export.ipadapter import read_adapter
from conftest import amdm
from parity import IMAGE_TOLERANCE, LATENT_TOLERANCE, decode_like_diffusers, generate, max_pixel_difference, relative_error
from tiny_sd import write_tiny_ipadapter

PROMPT, NEGATIVE = "a cat in the style of the picture", "ugly"
JOB = {"prompt": PROMPT, "negativePrompt": NEGATIVE, "steps": 5, "guidance": 6.0, "seed": 4}
SCALE = 0.8


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, tiny_sd):
    return write_tiny_ipadapter(tmp_path_factory.mktemp("ip") / "models", tiny_sd)


def style_image(path):
    """A non-square random RGB picture (exercises the shortest-edge resize and the centre crop)."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (90, 140, 3), dtype=np.uint8)).save(path)
    return path


def diffusers_ip_run(tiny_sd, adapter, image_path):
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_sd), safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.load_ip_adapter(str(adapter.parent), subfolder="", weight_name=adapter.name, image_encoder_folder=None)
    pipe.image_encoder = CLIPVisionModelWithProjection.from_pretrained(str(adapter.parent / "image_encoder"))
    pipe.feature_extractor = CLIPImageProcessor()
    pipe.set_ip_adapter_scale(SCALE)
    pipe.set_progress_bar_config(disable=True)
    latents = pipe(PROMPT, negative_prompt=NEGATIVE, ip_adapter_image=Image.open(image_path),
                   num_inference_steps=JOB["steps"], guidance_scale=JOB["guidance"],
                   generator=torch.Generator().manual_seed(JOB["seed"]), output_type="latent", height=64, width=64).images
    return latents, decode_like_diffusers(pipe.vae, latents)


def test_generate_matches_diffusers_ip_adapter(tiny_sd, adapter, tmp_path):
    onnx = tmp_path / "ip-onnx"
    amdm("export", "ipadapter", "--from", str(adapter), "--base", str(tiny_sd), "--out", str(onnx))
    assert json.loads((onnx / "amdm.json").read_text())["unet"]["inputs"]["ip_scale"] == "scale"
    image = style_image(tmp_path / "style.png")
    job = {**JOB, "models": [{"folder": str(onnx), "kind": "ipadapter", "conditions": {"image": str(image), "scale": SCALE}}]}
    ours = generate(tmp_path, "ip", job)
    latents, decoded = diffusers_ip_run(tiny_sd, adapter, image)
    assert relative_error(ours["latents"], latents.numpy(), "ipadapter latents") <= LATENT_TOLERANCE
    assert max_pixel_difference(ours["image"], decoded, "ipadapter image") <= IMAGE_TOLERANCE
    # the image matters: scale 0 (the base alone) ends elsewhere
    job0 = {**job, "models": [{**job["models"][0], "conditions": {"image": str(image), "scale": 0.0}}]}
    assert relative_error(generate(tmp_path, "ip0", job0)["latents"], latents.numpy()) > 1e-2


def test_safetensors_and_bin_adapters_read_the_same(tmp_path, tiny_sd):
    a = read_adapter(str(write_tiny_ipadapter(tmp_path / "bin", tiny_sd)))
    b = read_adapter(str(write_tiny_ipadapter(tmp_path / "st", tiny_sd, safetensors=True)))
    for x, y in zip(a, b):
        assert sorted(x) == sorted(y)
        assert all(torch.equal(x[k], y[k]) for k in x)
