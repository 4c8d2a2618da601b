"""Random-weight SD-1.x pipelines in diffusers' folder layout, at tiny widths but with SD-1.x's block
layout (4 levels, cross-attention in the first three, 2 layers per block: the 16 transformer
blocks and 32 attention processors that upstream code such as MIGC's loader hard-codes).
`text_width=768` gives the text features that InteractDiffusion, MIGC and IP-Adapter hard-code.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

# SD-1.x's noise schedule, as runwayml/stable-diffusion-v1-5 ships it (a PNDM config).
SD1_SCHEDULER = {
    "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000,
    "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
    "prediction_type": "epsilon", "timestep_spacing": "leading",
}


def tiny_unet_config(text_width: int = 32, sample_size: int = 8, channels=(16, 16, 32, 32)) -> dict:
    return dict(
        sample_size=sample_size, in_channels=4, out_channels=4, layers_per_block=2,
        block_out_channels=tuple(channels), norm_num_groups=8, cross_attention_dim=text_width, attention_head_dim=2,
        down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    )


def perturb(module: torch.nn.Module, seed: int, scale: float = 0.05) -> torch.nn.Module:
    """Adds noise to every parameter: diffusers zero-initialises some output layers, which would
    make parts of the graph inert and the comparison blind to them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return module


def tiny_components(tokenizer_dir: str | os.PathLike, *, text_width: int = 32, seed: int = 0, unet_cls=None, unet_extra=None,
                    unet_channels=(16, 16, 32, 32), sample_size: int = 8):
    """(unet, vae, text_encoder, tokenizer, scheduler) with seeded random weights; `unet_channels`
    (block_out_channels, multiples of 8) and `sample_size` (the latent's side) widen the UNet."""
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet_config = tiny_unet_config(text_width, sample_size, unet_channels)
    unet = (unet_cls or UNet2DConditionModel)(**unet_config, **(unet_extra or {}))
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8, 16, 16), layers_per_block=1,
        norm_num_groups=4, sample_size=64,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    )
    te = CLIPTextModel(CLIPTextConfig(
        hidden_size=text_width, intermediate_size=2 * text_width, num_attention_heads=4, num_hidden_layers=2,
        vocab_size=49408, max_position_embeddings=77, bos_token_id=49406, eos_token_id=2, pad_token_id=1,
        projection_dim=text_width, hidden_act="quick_gelu"))
    for i, m in enumerate((unet, vae, te)):
        perturb(m, seed * 10 + i)
    tok = CLIPTokenizer.from_pretrained(str(tokenizer_dir))  # model_max_length 77, as SD-1.x
    return unet, vae.eval(), te.eval(), tok, PNDMScheduler(**SD1_SCHEDULER)


def write_tiny_sd(folder: str | os.PathLike, tokenizer_dir: str | os.PathLike, *, text_width: int = 32, seed: int = 0,
                  unet_channels=(16, 16, 32, 32), sample_size: int = 8) -> Path:
    """A diffusers StableDiffusionPipeline folder (safetensors weights) with random weights."""
    from diffusers import StableDiffusionPipeline

    unet, vae, te, tok, sched = tiny_components(tokenizer_dir, text_width=text_width, seed=seed,
                                                unet_channels=unet_channels, sample_size=sample_size)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=te, tokenizer=tok, unet=unet.eval(), scheduler=sched,
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(str(folder))
    # the real SD-1.x scheduler_config.json carries clip_sample false (PNDM ignores it; DDIMScheduler's default is true)
    cfg_path = Path(folder) / "scheduler" / "scheduler_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["clip_sample"] = False
    cfg_path.write_text(json.dumps(cfg, indent=2))
    return Path(folder)


def write_tiny_ipadapter(folder: str | os.PathLike, base: str | os.PathLike, *, seed: int = 7, embed_dim: int = 64,
                         safetensors: bool = False) -> Path:
    """An IP-Adapter in the h94/IP-Adapter layout for the tiny base: `folder/ip-adapter_sd15.bin` (or
    `.safetensors` with flat `image_proj.*`/`ip_adapter.*` keys) and `folder/image_encoder/`
    (a tiny CLIPVisionModelWithProjection at 224², projecting to `embed_dim`)."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from amdm_tools.export.ipadapter import expected_adapter

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    enc = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, image_size=224,
        patch_size=32, projection_dim=embed_dim, hidden_act="gelu"))
    perturb(enc, seed).save_pretrained(str(folder / "image_encoder"))
    unet = UNet2DConditionModel.from_pretrained(str(Path(base) / "unet"))
    want_proj, want_ip = expected_adapter(unet, embed_dim)
    g = torch.Generator().manual_seed(seed)
    rand = lambda t, s: torch.randn(t.shape, generator=g) * s  # noqa: E731
    proj = {k: rand(t, 0.2) + (1.0 if k == "norm.weight" else 0.0) for k, t in want_proj.items()}
    ip = {k: rand(t, 0.3) for k, t in want_ip.items()}
    if safetensors:
        from safetensors.torch import save_file

        flat = {**{f"image_proj.{k}": v for k, v in proj.items()}, **{f"ip_adapter.{k}": v for k, v in ip.items()}}
        path = folder / "ip-adapter_sd15.safetensors"
        save_file(flat, str(path))
    else:
        path = folder / "ip-adapter_sd15.bin"
        torch.save({"image_proj": proj, "ip_adapter": ip}, str(path))
    return path
