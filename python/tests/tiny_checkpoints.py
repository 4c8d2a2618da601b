"""Random-weight checkpoints in the real formats at tiny widths (SD-1.x block layout, 768-wide text
where upstream hard-codes it): the interactdiffusion/diffusers-v1-2 layout and MIGC_SD14.ckpt with
its SD-1.4 base (tiny_sd.py writes the SD-1.x folders)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from torch import nn

from tiny_sd import perturb, tiny_unet_config, write_tiny_sd

WIDTH = 768  # text width: hard-coded 768 upstream (MIGC's context_dim, the pipelines' zeros(max_objs, 768))
LATENT = 8


def unet_config(**extra) -> dict:
    return {**tiny_unet_config(WIDTH, LATENT), **extra}


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


def write_sd1(root: Path, tokenizer_dir: Path, seed: int = 0) -> Path:
    """tiny_sd's SD-1.x folder at text width 768."""
    return write_tiny_sd(root, tokenizer_dir, text_width=WIDTH, seed=seed)


def interact_unet(seed: int = 0, rows: int = 30):
    """diffusers' GLIGEN UNet (attention_type "gated") with the reference interaction net."""
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**unet_config(attention_type="gated"))
    unet.position_net = RefInteractionNet(WIDTH, WIDTH, rows=rows)
    return perturb(unet, seed + 5).eval()


def write_interactdiffusion(root: Path, tokenizer_dir: Path, seed: int = 0, rows: int = 30, state_edit=None) -> Path:
    """The interactdiffusion/diffusers-v1-2 layout at tiny width: unet/config.json with
    `_class_name: InteractDiffusionUNet2DConditionModel`, unet/diffusion_pytorch_model.safetensors."""
    from safetensors.torch import save_file

    write_sd1(root, tokenizer_dir, seed)
    shutil.rmtree(root / "unet")
    unet = interact_unet(seed, rows)
    (root / "unet").mkdir()
    cfg = dict(unet_config(attention_type="gated"), _class_name="InteractDiffusionUNet2DConditionModel",
               _diffusers_version="0.27.0.dev0")
    (root / "unet/config.json").write_text(json.dumps(cfg))
    state = {k: v.contiguous() for k, v in unet.state_dict().items()}
    if state_edit:
        state = state_edit(state)
    save_file(state, str(root / "unet/diffusion_pytorch_model.safetensors"))
    index = json.loads((root / "model_index.json").read_text())
    (root / "model_index.json").write_text(json.dumps({**index, "_class_name": "StableDiffusionInteractDiffusionPipeline"}))
    return root


# ---------------------------------------------------------------- MIGC

# LDM blocks given MIGC weights in the test checkpoint: down_blocks.2.attentions.1, the mid block,
# up_blocks.1.attentions.0-2 (input_blocks.8, middle_block.1, output_blocks.3-5)
MIGC_LDM_BLOCKS = ["input_blocks.8.1", "middle_block.1", "output_blocks.3.1", "output_blocks.4.1", "output_blocks.5.1"]


def migc_state_dict(channels: dict, seed: int = 0) -> dict:
    """A MIGC_SD14.ckpt state_dict: reference MIGC modules keyed under LDM block names."""
    from migc_reference import MIGC

    torch.manual_seed(seed)
    state = {}
    for ldm in MIGC_LDM_BLOCKS:
        m = perturb(MIGC(channels[ldm]), seed + len(state), scale=0.1)
        for k, v in m.state_dict().items():
            state[f"model.diffusion_model.{ldm}.transformer_blocks.0.attn2.migc.{k}"] = v
    return state


def write_migc(root: Path, tokenizer_dir: Path, seed: int = 0, edit=None) -> tuple[Path, Path]:
    """(MIGC_SD14.ckpt, the SD-1.4 base folder) with random weights; `edit` changes the saved dict."""
    base = write_sd1(root / "sd14", tokenizer_dir, seed)
    ch = tiny_unet_config(WIDTH, LATENT)["block_out_channels"]
    channels = {"input_blocks.8.1": ch[2], "middle_block.1": ch[3], "output_blocks.3.1": ch[2],
                "output_blocks.4.1": ch[2], "output_blocks.5.1": ch[2]}
    obj = {"state_dict": migc_state_dict(channels, seed), "epoch": 0}
    if edit:
        obj = edit(obj)
    ckpt = root / "MIGC_SD14.ckpt"
    torch.save(obj, ckpt)
    return ckpt, base
