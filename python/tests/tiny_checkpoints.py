"""Random-weight checkpoints in the real formats at tiny widths (SD-1.x block layout, 768-wide text
where upstream hard-codes it): an SD-1.x diffusers folder, the interactdiffusion/diffusers-v1-2
layout and MIGC_SD14.ckpt."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
WIDTH = 768  # text width: hard-coded 768 upstream (MIGC's context_dim, the pipelines' zeros(max_objs, 768))
BLOCKS = (32, 32, 64, 64)
LATENT = 8
HEADS = 8


def tokenizer_dir() -> Path:
    """The CLIP tokenizer files; skip with the reason when absent (fail under CI)."""
    root = Path(os.environ.get("AMDM_TEST_DATA") or REPO.parent / "shared" / "data")
    if not root.is_absolute():
        root = REPO / root
    tok = root / "clip-tokenizer"
    if not (tok / "vocab.json").is_file():
        msg = f"the CLIP tokenizer files are not in {tok}; set AMDM_TEST_DATA to the test-data folder"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return tok


def unet_config(**extra) -> dict:
    return dict(sample_size=LATENT, in_channels=4, out_channels=4, block_out_channels=list(BLOCKS),
                layers_per_block=2, norm_num_groups=8, cross_attention_dim=WIDTH, attention_head_dim=HEADS,
                down_block_types=["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"],
                up_block_types=["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3, **extra)


def jitter(module: nn.Module, seed: int, scale: float = 0.05) -> nn.Module:
    """Add noise to every parameter, so zero-initialised gates, null features and biases matter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return module


def write_sd_parts(root: Path, seed: int = 0) -> None:
    """text_encoder/, vae/, tokenizer/, scheduler/ of a tiny SD-1.x folder."""
    from diffusers import AutoencoderKL
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    te = CLIPTextModel(CLIPTextConfig(hidden_size=WIDTH, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=HEADS, vocab_size=49408, max_position_embeddings=77,
                                      bos_token_id=49406, eos_token_id=49407, pad_token_id=49407))
    te.save_pretrained(root / "text_encoder")
    vae = AutoencoderKL(block_out_channels=(8, 8, 8, 8), down_block_types=["DownEncoderBlock2D"] * 4,
                        up_block_types=["UpDecoderBlock2D"] * 4, layers_per_block=1, latent_channels=4,
                        norm_num_groups=4, sample_size=LATENT * 8)
    jitter(vae, seed + 1).save_pretrained(root / "vae")
    shutil.copytree(tokenizer_dir(), root / "tokenizer")
    (root / "scheduler").mkdir()
    (root / "scheduler/scheduler_config.json").write_text(json.dumps({
        "_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
        "trained_betas": None, "clip_sample": False}))


def write_sd14(root: Path, seed: int = 0) -> Path:
    """A tiny SD-1.4 diffusers folder (the MIGC base)."""
    from diffusers import UNet2DConditionModel

    root.mkdir(parents=True)
    write_sd_parts(root, seed)
    torch.manual_seed(seed + 2)
    jitter(UNet2DConditionModel(**unet_config()), seed + 3).save_pretrained(root / "unet")
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    return root


# ---------------------------------------------------------------- InteractDiffusion

class RefInteractionNet(nn.Module):
    """The interaction projection written from the checkpoint's key list (position_net.linears,
    linear_action, null_{positive,action,position}_feature, interaction_embedding.emb,
    position_embedding.emb) and HOIPositionNetV5's forward, independently of the exporter."""

    def __init__(self, in_dim: int, out_dim: int, rows: int = 30, freqs: int = 8):
        super().__init__()
        self.freqs = freqs
        pos = freqs * 2 * 4
        mlp = lambda: nn.Sequential(nn.Linear(in_dim + pos, 512), nn.SiLU(), nn.Linear(512, 512), nn.SiLU(),  # noqa: E731
                                    nn.Linear(512, out_dim))
        self.linears, self.linear_action = mlp(), mlp()
        self.null_positive_feature = nn.Parameter(torch.zeros(in_dim))
        self.null_action_feature = nn.Parameter(torch.zeros(in_dim))
        self.null_position_feature = nn.Parameter(torch.zeros(pos))
        self.interaction_embedding = nn.Module()
        self.interaction_embedding.emb = nn.Embedding(rows, out_dim)
        self.position_embedding = nn.Module()
        self.position_embedding.emb = nn.Embedding(3, out_dim)

    def fourier(self, x):
        out = []
        for k in range(self.freqs):
            f = 100 ** (k / self.freqs)
            out += [torch.sin(f * x), torch.cos(f * x)]
        return torch.cat(out, -1)

    @staticmethod
    def between(b1, b2):
        xs = torch.cat([b1[:, :, 0::2], b2[:, :, 0::2]], -1).sort()[0]
        ys = torch.cat([b1[:, :, 1::2], b2[:, :, 1::2]], -1).sort()[0]
        return torch.stack([xs[:, :, 1], ys[:, :, 1], xs[:, :, 2], ys[:, :, 2]], 2)

    def forward(self, subject_boxes, object_boxes, masks, subject_positive_embeddings, object_positive_embeddings,
                action_positive_embeddings):
        m = masks.unsqueeze(-1)
        sub_p = subject_positive_embeddings * m + (1 - m) * self.null_positive_feature.view(1, 1, -1)
        obj_p = object_positive_embeddings * m + (1 - m) * self.null_positive_feature.view(1, 1, -1)
        act_p = action_positive_embeddings * m + (1 - m) * self.null_action_feature.view(1, 1, -1)
        xy_null = self.null_position_feature.view(1, 1, -1)
        sub_xy = self.fourier(subject_boxes) * m + (1 - m) * xy_null
        obj_xy = self.fourier(object_boxes) * m + (1 - m) * xy_null
        act_xy = self.fourier(self.between(subject_boxes, object_boxes)) * m + (1 - m) * xy_null
        s = self.linears(torch.cat([sub_p, sub_xy], -1))
        o = self.linears(torch.cat([obj_p, obj_xy], -1))
        a = self.linear_action(torch.cat([act_p, act_xy], -1))
        idx = self.interaction_embedding.emb(torch.arange(s.shape[1]))[None]
        s, o, a = s + idx, o + idx, a + idx
        s = s + self.position_embedding.emb(torch.tensor(0))
        o = o + self.position_embedding.emb(torch.tensor(1))
        a = a + self.position_embedding.emb(torch.tensor(2))
        return torch.cat([s, a, o], 1)


def interact_unet(seed: int = 0, rows: int = 30):
    """diffusers' GLIGEN UNet (attention_type "gated") with the reference interaction net."""
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**unet_config(attention_type="gated"))
    unet.position_net = RefInteractionNet(WIDTH, WIDTH, rows=rows)
    return jitter(unet, seed + 5).eval()


def write_interactdiffusion(root: Path, seed: int = 0, rows: int = 30, state_edit=None) -> Path:
    """The interactdiffusion/diffusers-v1-2 layout at tiny width: unet/config.json with
    `_class_name: InteractDiffusionUNet2DConditionModel`, unet/diffusion_pytorch_model.safetensors."""
    from safetensors.torch import save_file

    root.mkdir(parents=True)
    write_sd_parts(root, seed)
    unet = interact_unet(seed, rows)
    (root / "unet").mkdir()
    cfg = dict(unet_config(attention_type="gated"), _class_name="InteractDiffusionUNet2DConditionModel",
               _diffusers_version="0.27.0.dev0")
    (root / "unet/config.json").write_text(json.dumps(cfg))
    state = {k: v.contiguous() for k, v in unet.state_dict().items()}
    if state_edit:
        state = state_edit(state)
    save_file(state, str(root / "unet/diffusion_pytorch_model.safetensors"))
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionInteractDiffusionPipeline"}))
    return root
