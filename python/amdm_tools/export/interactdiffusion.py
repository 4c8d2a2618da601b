"""`amdm export interactdiffusion --from <interactdiffusion/diffusers-v1-2 folder> --out <folder> [--fp16]`

Source layout: a diffusers SD-1.x folder whose `unet/` is diffusers' GLIGEN UNet
(`attention_type: "gated"`, a `GatedSelfAttentionDense` fuser after every self-attention) with
InteractDiffusion's interaction projection as `position_net` (class
`InteractDiffusionUNet2DConditionModel`, loaded upstream with `trust_remote_code`). The
projection is rebuilt here from its published definition (`HOIPositionNetV5` in
jiuntian/interactdiffusion, `text_grounding_net.py`), so no remote code runs.

Output (docs/models.md, "InteractDiffusion"): `unet/model.onnx` takes the nine grounding inputs
(30 slots) and always runs the fusers (AMDM's beta = 1); `plain/model.onnx` is the same UNet
without grounding (every fuser skipped), declared as `graphs.plain` for scheduled sampling.
"""
from __future__ import annotations

import os

import torch
from torch import nn

from .common import (STANDARD_UNET_INPUTS, ExportError, check_state_dict, ddim_scheduler_config, export_graph, load_tensors,
                     round_to_fp16, seeded, write_folder)
from .sd import SdBase, check_sd1, export_base_graphs, from_pretrained_checked, unet_dynamic_axes
from .sd1_layout import check_sd1_layout

SLOTS = 30  # max_objs of the official pipeline
FOURIER_FREQS = 8
HIDDEN = 512  # the projection MLPs' hidden width, fixed upstream
GROUNDING_INPUTS = ["subject_boxes", "object_boxes", "masks", "subject_positive_embeddings",
                    "object_positive_embeddings", "action_positive_embeddings"]
GROUNDING_ROLES = ["subject_boxes", "object_boxes", "masks", "subject_embeddings", "object_embeddings",
                   "action_embeddings"]
WEIGHT_FILES = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.fp16.safetensors",
                "diffusion_pytorch_model.bin")
ROWS_KEY = "position_net.interaction_embedding.emb.weight"


def add_arguments(p) -> None:
    p.add_argument("--dynamic-size", action="store_true",
                   help="symbolic latent height/width (jobs then give height and width); default: the UNet's sample_size")


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


def unet_weights_file(unet_dir: str) -> str:
    for name in WEIGHT_FILES:
        if os.path.isfile(os.path.join(unet_dir, name)):
            return os.path.join(unet_dir, name)
    raise ExportError(f"{unet_dir}: none of {', '.join(WEIGHT_FILES)} found (the UNet's weights)")


def load_unet(folder: str, config: dict):
    """The InteractDiffusion UNet of `folder` with its weights; every key and shape is checked
    against the architecture its config describes (upstream loads it with strict=False)."""
    from diffusers import UNet2DConditionModel

    cfg_path = os.path.join(folder, "unet", "config.json")
    check_sd1_layout(config, cfg_path)
    if config.get("attention_type", "default") != "gated":
        raise ExportError(f"{cfg_path}: attention_type {config.get('attention_type', 'default')!r}; expected 'gated' "
                          "(InteractDiffusion's GLIGEN fusers)")
    weights = unet_weights_file(os.path.join(folder, "unet"))
    state = load_tensors(weights)
    if ROWS_KEY not in state:
        kind = "a GLIGEN UNet, not InteractDiffusion" if "position_net.linears.0.weight" in state else "not InteractDiffusion"
        raise ExportError(f"{weights}: no key {ROWS_KEY!r} ({kind}: expected InteractDiffusion's position_net.*)")
    rows = state[ROWS_KEY].shape[0]
    if rows < SLOTS:
        raise ExportError(f"{weights}: {ROWS_KEY} has {rows} rows, expected at least {SLOTS} (max_objs)")
    unet = UNet2DConditionModel.from_config({k: v for k, v in config.items() if not k.startswith("_")})
    width = config["cross_attention_dim"]
    unet.position_net = InteractionPositionNet(width, width, interaction_rows=rows)
    expected = unet.state_dict()
    for part, hint in ((".fuser.", "no gated self-attention fusers: not a GLIGEN/InteractDiffusion UNet"),
                       ("position_net.linear_action.", "a GLIGEN position net, not InteractDiffusion's interaction projection")):
        gone = [k for k in expected if part in k and k not in state]
        if gone:
            raise ExportError(f"{weights}: {len(gone)} key(s) missing, e.g. {gone[0]} ({hint})")
    check_state_dict(state, expected, weights, what="InteractDiffusion UNet weights")
    unet.load_state_dict({k: v.float() for k, v in state.items()})
    return unet.eval()


def example_inputs(width: int, latent: int, seed: int = 0, batch: int = 2):
    """Random inputs in the contract's layout: rows [uncond; cond], masks 0 in the uncond rows."""
    rnd = seeded(seed)
    g = torch.Generator().manual_seed(seed + 1)
    corner = torch.rand(batch, SLOTS, 2, generator=g) * 0.5
    boxes = lambda: torch.cat([corner, corner + 0.2 + 0.3 * torch.rand(batch, SLOTS, 2, generator=g)], -1)  # noqa: E731
    masks = torch.zeros(batch, SLOTS)
    masks[batch // 2:, :3] = 1
    return (rnd(batch, 4, latent, latent), torch.tensor(601.0), rnd(batch, 77, width), boxes(), boxes(), masks,
            rnd(batch, SLOTS, width), rnd(batch, SLOTS, width), rnd(batch, SLOTS, width))


def manifest() -> dict:
    return {
        "family": "interactdiffusion",
        "unet": {"file": "unet/model.onnx", "output": "out_sample",
                 "inputs": {**STANDARD_UNET_INPUTS, **dict(zip(GROUNDING_INPUTS, GROUNDING_ROLES))}},
        "graphs": {"plain": {"file": "plain/model.onnx", "output": "out_sample", "inputs": dict(STANDARD_UNET_INPUTS)}},
    }


def export(args) -> None:
    from diffusers import AutoencoderKL
    from transformers import CLIPTextModel

    folder = args.source
    cfg = check_sd1(folder)
    unet = load_unet(folder, cfg["unet"])
    te = from_pretrained_checked(CLIPTextModel, folder, "text_encoder")
    vae = from_pretrained_checked(AutoencoderKL, folder, "vae")
    if args.fp16:
        for m in (unet, te, vae):
            round_to_fp16(m)
    base = SdBase(folder=os.path.abspath(folder), unet=unet, text_encoder=te, vae=vae,
                  scheduler=ddim_scheduler_config(cfg["scheduler"]), tokenizer_dir=os.path.join(folder, "tokenizer"),
                  scaling_factor=float(vae.config.scaling_factor))
    width, size = cfg["unet"]["cross_attention_dim"], cfg["unet"].get("sample_size", 64)
    print(f"exporting {base.folder} (InteractDiffusion, {SLOTS} slots, latent {size}², text width {width})")
    reports = export_base_graphs(args, base)
    names = [*STANDARD_UNET_INPUTS, *GROUNDING_INPUTS]
    axes = unet_dynamic_axes({n: {0: "batch"} for n in GROUNDING_INPUTS}, dynamic_size=args.dynamic_size)
    common = dict(fp16=args.fp16, external=args.external_data)
    reports.append(export_graph(args.folder, "unet/model.onnx", GroundedUnetGraph(unet), example_inputs(width, size),
                                names, ["out_sample"], axes, check_args=[example_inputs(width, size, seed=1, batch=4)],
                                **common))
    plain_in = example_inputs(width, size, seed=2)[:3]
    reports.append(export_graph(args.folder, "plain/model.onnx", PlainUnetGraph(unet), plain_in, list(STANDARD_UNET_INPUTS),
                                ["out_sample"], unet_dynamic_axes(dynamic_size=args.dynamic_size), **common))
    write_folder(args.folder, manifest=manifest(), scheduler=base.scheduler, tokenizer_dir=base.tokenizer_dir,
                 reports=reports, source={"family": "interactdiffusion", "from": base.folder, "slots": SLOTS,
                                          "interaction_rows": int(unet.position_net.interaction_embedding.emb.num_embeddings)},
                 fp16=args.fp16)
