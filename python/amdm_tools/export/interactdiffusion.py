"""`interactdiffusion`: the HF `interactdiffusion/diffusers-v1-2` folder → an amdm model folder.

Source layout: a diffusers SD-1.x folder whose `unet/` is diffusers' GLIGEN UNet
(`attention_type: "gated"`, a `GatedSelfAttentionDense` fuser after every self-attention) with
InteractDiffusion's interaction projection as `position_net` (class
`InteractDiffusionUNet2DConditionModel`, loaded upstream with `trust_remote_code`). The
projection is rebuilt here from its published definition (`HOIPositionNetV5` in
jiuntian/interactdiffusion, `text_grounding_net.py`), so no remote code runs.

Output (docs/models.md, "InteractDiffusion"): `unet/model.onnx` takes the nine grounding inputs
(30 slots) and always runs the fusers (AMDM's beta = 1); `plain/model.onnx` is the same UNet
without grounding (fusers skipped), declared as `graphs.plain` for scheduled sampling.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from ._interim_common import (
    STANDARD_INPUTS,
    ExportError,
    check_state_dict,
    export_graph,
    export_sd_components,
    load_state_dict,
    read_sd1_unet_config,
    staged_folder,
    write_json,
)

SLOTS = 30  # max_objs of the official pipeline
FOURIER_FREQS = 8
HIDDEN = 512  # the projection MLPs' hidden width, fixed upstream
GROUNDING_INPUTS = ["subject_boxes", "object_boxes", "masks", "subject_positive_embeddings",
                    "object_positive_embeddings", "action_positive_embeddings"]
GROUNDING_ROLES = ["subject_boxes", "object_boxes", "masks", "subject_embeddings", "object_embeddings",
                   "action_embeddings"]
WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
                "diffusion_pytorch_model.bin")


def fourier_boxes(boxes: torch.Tensor) -> torch.Tensor:
    """[B, N, 4] boxes → [B, N, 64]: for each of 8 frequencies f_k = 100^(k/8), sin(f_k·box) then
    cos(f_k·box) (GLIGEN's FourierEmbedder; diffusers' get_fourier_embeds_from_boundingbox)."""
    from diffusers.models.embeddings import get_fourier_embeds_from_boundingbox

    return get_fourier_embeds_from_boundingbox(FOURIER_FREQS, boxes)


def between_box(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The action box of a subject and an object box (xyxy): the 2nd and 3rd smallest of the four
    x and of the four y coordinates (InteractDiffusion's `get_between_box`)."""
    xs, _ = torch.cat([a[..., 0::2], b[..., 0::2]], dim=-1).sort(dim=-1)
    ys, _ = torch.cat([a[..., 1::2], b[..., 1::2]], dim=-1).sort(dim=-1)
    return torch.stack([xs[..., 1], ys[..., 1], xs[..., 2], ys[..., 2]], dim=-1)


def _mlp(in_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, HIDDEN), nn.SiLU(), nn.Linear(HIDDEN, HIDDEN), nn.SiLU(),
                         nn.Linear(HIDDEN, out_dim))


class _Embedding(nn.Module):
    """Holds `emb` so the state-dict keys read `…interaction_embedding.emb.weight`."""

    def __init__(self, rows: int, dim: int):
        super().__init__()
        self.emb = nn.Embedding(rows, dim)


class InteractionPositionNet(nn.Module):
    """InteractDiffusion's interaction projection (`position_net.*`): per slot, the subject and
    object tokens are `linears([phrase; fourier(box)])`, the action token is
    `linear_action([action; fourier(between_box)])`; masked-out slots use the learned null
    features; each token adds the slot's interaction embedding and its role embedding
    (subject 0, object 1, action 2). Output: [B, 3·N, D] ordered subjects, actions, objects."""

    def __init__(self, in_dim: int, out_dim: int, interaction_rows: int = SLOTS):
        super().__init__()
        pos = FOURIER_FREQS * 2 * 4
        self.linears = _mlp(in_dim + pos, out_dim)
        self.linear_action = _mlp(in_dim + pos, out_dim)
        self.null_positive_feature = nn.Parameter(torch.zeros(in_dim))
        self.null_action_feature = nn.Parameter(torch.zeros(in_dim))
        self.null_position_feature = nn.Parameter(torch.zeros(pos))
        self.interaction_embedding = _Embedding(interaction_rows, out_dim)
        self.position_embedding = _Embedding(3, out_dim)

    def forward(self, subject_boxes, object_boxes, masks, subject_positive_embeddings,
                object_positive_embeddings, action_positive_embeddings):
        m = masks.unsqueeze(-1)
        keep = lambda x, null: x * m + (1 - m) * null.view(1, 1, -1)  # noqa: E731
        pos_null = self.null_position_feature
        subj = keep(subject_positive_embeddings, self.null_positive_feature)
        obj = keep(object_positive_embeddings, self.null_positive_feature)
        act = keep(action_positive_embeddings, self.null_action_feature)
        subj_xy = keep(fourier_boxes(subject_boxes), pos_null)
        obj_xy = keep(fourier_boxes(object_boxes), pos_null)
        act_xy = keep(fourier_boxes(between_box(subject_boxes, object_boxes)), pos_null)
        slots = self.interaction_embedding.emb.weight[: subject_boxes.shape[1]].unsqueeze(0)
        role = self.position_embedding.emb.weight
        s = self.linears(torch.cat([subj, subj_xy], dim=-1)) + slots + role[0]
        o = self.linears(torch.cat([obj, obj_xy], dim=-1)) + slots + role[1]
        a = self.linear_action(torch.cat([act, act_xy], dim=-1)) + slots + role[2]
        return torch.cat([s, a, o], dim=1)


def _batch_t(sample, timestep):
    return timestep.reshape(1).expand(sample.shape[0])


class GroundedUnetGraph(nn.Module):
    """The contract's `unet`: the grounding inputs → position_net → every fuser (beta = 1)."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, subject_boxes, object_boxes, masks,
                subject_positive_embeddings, object_positive_embeddings, action_positive_embeddings):
        gligen = dict(subject_boxes=subject_boxes, object_boxes=object_boxes, masks=masks,
                      subject_positive_embeddings=subject_positive_embeddings,
                      object_positive_embeddings=object_positive_embeddings,
                      action_positive_embeddings=action_positive_embeddings)
        return self.unet(sample, _batch_t(sample, timestep), encoder_hidden_states,
                         cross_attention_kwargs={"gligen": gligen}).sample


class PlainUnetGraph(nn.Module):
    """The UNet without grounding: no `gligen` kwargs, so no fuser runs."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, _batch_t(sample, timestep), encoder_hidden_states).sample


def unet_weights_file(unet_dir: Path) -> Path:
    for name in WEIGHT_FILES:
        if (unet_dir / name).is_file():
            return unet_dir / name
    raise ExportError(f"{unet_dir}: none of {', '.join(WEIGHT_FILES)} found")


def load_unet(src: Path):
    """The InteractDiffusion UNet of folder `src` with its checkpoint loaded; every key and shape
    checked against the architecture its config describes."""
    from diffusers import UNet2DConditionModel

    cfg_path = src / "unet/config.json"
    cfg = read_sd1_unet_config(cfg_path, attention_type="gated")
    weights = unet_weights_file(src / "unet")
    state = load_state_dict(weights)
    rows_key = "position_net.interaction_embedding.emb.weight"
    if rows_key not in state:
        hint = "a GLIGEN UNet, not InteractDiffusion" if "position_net.linears.0.weight" in state else "not InteractDiffusion"
        raise ExportError(f"{weights}: no key {rows_key!r} ({hint}: expected InteractDiffusion's position_net.*)")
    rows = state[rows_key].shape[0]
    if rows < SLOTS:
        raise ExportError(f"{weights}: {rows_key} has {rows} rows, expected at least {SLOTS} (max_objs)")
    conf = {k: v for k, v in cfg.items() if not k.startswith("_")}
    unet = UNet2DConditionModel.from_config(conf)
    width = cfg["cross_attention_dim"]
    unet.position_net = InteractionPositionNet(width, width, interaction_rows=rows)
    expected = unet.state_dict()
    hints = {".fuser.": "no gated self-attention fusers: not a GLIGEN/InteractDiffusion UNet",
             "position_net.linear_action": "a GLIGEN position net, not InteractDiffusion's interaction projection"}
    check_state_dict(state, expected, weights, "an InteractDiffusion SD-1.x UNet", hints)
    unet.load_state_dict({k: v.float() for k, v in state.items()})
    return unet.eval(), width


def example_inputs(width: int, latent: int, seed: int = 0, batch: int = 2):
    """Random inputs in the contract's layout: rows [uncond; cond], masks 0 in the uncond rows."""
    g = torch.Generator().manual_seed(seed)
    rnd = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    corner = torch.rand(batch, SLOTS, 2, generator=g) * 0.5
    boxes = lambda: torch.cat([corner, corner + 0.2 + 0.3 * torch.rand(batch, SLOTS, 2, generator=g)], -1)  # noqa: E731
    masks = torch.zeros(batch, SLOTS)
    masks[batch // 2:, :3] = 1
    return (rnd(batch, 4, latent, latent), torch.tensor(601.0), rnd(batch, 77, width), boxes(), boxes(), masks,
            rnd(batch, SLOTS, width), rnd(batch, SLOTS, width), rnd(batch, SLOTS, width))


def export_folder(src: str | Path, out: str | Path, latent: int = 64) -> dict:
    """Export `src` (an interactdiffusion/diffusers-v1-2 folder) to `out`; returns the manifest.
    `latent` sets the spatial size of the check inputs only (the graphs take any size)."""
    src = Path(src)
    if not (src / "unet").is_dir():
        raise ExportError(f"{src}: has no unet/ folder (expected the interactdiffusion/diffusers-v1-2 layout)")
    unet, width = load_unet(src)
    args = example_inputs(width, latent)
    names = ["sample", "timestep", "encoder_hidden_states", *GROUNDING_INPUTS]
    batch = {n: {0: "batch"} for n in names if n != "timestep"}
    batch["encoder_hidden_states"] = {0: "batch", 1: "sequence"}
    batch["sample"] = {0: "batch", 2: "height", 3: "width"}
    out_dyn = {"out_sample": {0: "batch", 2: "height", 3: "width"}}
    with staged_folder(out) as tmp:
        export_graph(GroundedUnetGraph(unet), args, tmp / "unet/model.onnx", names, ["out_sample"], {**batch, **out_dyn},
                     check_args=example_inputs(width, latent, seed=1))
        plain_dyn = {k: batch[k] for k in STANDARD_INPUTS if k in batch}
        export_graph(PlainUnetGraph(unet), args[:3], tmp / "plain/model.onnx", list(STANDARD_INPUTS), ["out_sample"],
                     {**plain_dyn, **out_dyn})
        export_sd_components(src, tmp, width)
        manifest = {
            "family": "interactdiffusion",
            "unet": {"file": "unet/model.onnx", "output": "out_sample",
                     "inputs": {**STANDARD_INPUTS, **dict(zip(GROUNDING_INPUTS, GROUNDING_ROLES))}},
            "graphs": {"plain": {"file": "plain/model.onnx", "output": "out_sample", "inputs": dict(STANDARD_INPUTS)}},
        }
        write_json(tmp / "amdm.json", manifest)
    return manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--check-latent", type=int, default=64, help="latent size of the torch-vs-ONNX check inputs")


def export(args: argparse.Namespace) -> dict:
    return export_folder(getattr(args, "from_", None) or getattr(args, "from"), args.out, latent=args.check_latent)
