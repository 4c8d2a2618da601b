"""`amdm export migc --from MIGC_SD14.ckpt --base <SD-1.4 diffusers folder> --out <folder> [--fp16]`

MIGC_SD14.ckpt (limuloo/MIGC) holds a `state_dict` of MIGC modules keyed by LDM block names, e.g.
`….output_blocks.3.….migc.norm.bias`. As the official `load_migc` does, a key's LDM block
(`input_blocks` / `middle_block` / `output_blocks`) and its index at position 3 name the
diffusers transformer block whose cross-attention (`attn2`) the module is attached to:
input_blocks.i → down_blocks.(i // 3).attentions.(i % 3 − 1), middle_block → mid_block.attentions.0,
output_blocks.i → up_blocks.(i // 3).attentions.(i % 3); the module's weights are the key's part
from `migc.` on, and its channel count is `migc.norm.bias`'s length.

The MIGC graph (`unet/model.onnx`, docs/models.md "MIGC") is the base UNet with those
cross-attentions replaced by MIGC's processor; the work the official `MIGCProcessor` does in
Python (masks from box lists, box reordering, prompt layout) happens in amdm and arrives as
inputs. The plain SD-1.4 UNet is `plain/model.onnx` (graphs.plain), used after MIGCsteps.

Where the official code differs: SAC shuffles the 28 instance slots with `torch.randperm` on
every call before its CBAM and un-shuffles after; the export keeps them in their fixed order
(instances first, then the null slots), so a run is deterministic. The instance count n is a
symbolic dimension (1 ≤ n ≤ 28); the latent size is fixed at the base's `sample_size`.
"""
from __future__ import annotations

import math
import os
from collections import defaultdict

import torch
import torch.nn.functional as F
from torch import nn

from .common import STANDARD_UNET_INPUTS, ExportError, check_state_dict, export_graph, round_to_fp16, seeded, write_folder
from .interactdiffusion import fourier_boxes
from .sd import UnetGraph, export_base_graphs, latent_size, load_base, unet_check_inputs, unet_dynamic_axes
from .sd1_layout import SD1_TEXT_WIDTH, check_sd1_layout

NUMBER_PRO = 30  # SAC's slot count: global + 28 instances/null + template
MAX_INSTANCES = NUMBER_PRO - 2
HEADS = 8
LDM_BLOCKS = {"input_blocks": "down", "middle_block": "mid", "output_blocks": "up"}
MIGC_INPUTS = ["instance_embeddings", "instance_pooler", "instance_boxes", "guidance_mask", "supplement_mask"]


def add_arguments(p) -> None:  # noqa: ARG001 - the common options suffice
    pass


# ------------------------------------------------------------------------------ MIGC's modules


class _Attention(nn.Module):
    """LDM's CrossAttention (to_q/k/v without bias, to_out.0 with bias); `allowed` masks keys."""

    def __init__(self, query_dim: int, context_dim: int, heads: int = HEADS):
        super().__init__()
        inner = (query_dim // heads) * heads
        self.heads, self.scale = heads, (query_dim // heads) ** -0.5
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, query_dim), nn.Dropout(0.0))

    def forward(self, x, context, allowed=None):
        b, h = x.shape[0], self.heads
        split = lambda t: t.reshape(b, t.shape[1], h, -1).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.to_q(x)), split(self.to_k(context)), split(self.to_v(context))
        sim = q @ k.transpose(-1, -2) * self.scale
        if allowed is not None:
            sim = sim.masked_fill(~allowed[:, None], -torch.finfo(sim.dtype).max)
        out = (sim.softmax(-1) @ v).transpose(1, 2).reshape(b, x.shape[1], -1)
        return self.to_out(out)


class _ChannelGate(nn.Module):
    def __init__(self, channels: int, reduction: int):
        super().__init__()
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(channels, channels // reduction), nn.ReLU(),
                                 nn.Linear(channels // reduction, channels))

    def forward(self, x):
        att = self.mlp(x.mean((2, 3), keepdim=True)) + self.mlp(x.amax((2, 3), keepdim=True))
        return x * torch.sigmoid(att)[:, :, None, None]


class _SpatialConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False)


class _SpatialGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.spatial = _SpatialConv()

    def forward(self, x):
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], 1)
        return x * torch.sigmoid(self.spatial.conv(pooled))


class _CBAM(nn.Module):
    """Channel then spatial attention (the keys `ChannelGate.mlp.*`, `SpatialGate.spatial.conv.*`)."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.ChannelGate = _ChannelGate(channels, reduction)
        self.SpatialGate = _SpatialGate()

    def forward(self, x):
        return self.SpatialGate(self.ChannelGate(x))


class _SAC(nn.Module):
    """Shading aggregation: per-phase scale maps (conv1 → CBAM → conv2), the instance maps padded to
    28 with the null phase's map, CBAM across the 30 maps, softmax over the phases, weighted sum.
    Fixed slot order (the official code shuffles the 28 middle slots with torch.randperm)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels + 1, channels, 1)
        self.cbam1 = _CBAM(channels)
        self.conv2 = nn.Conv2d(channels, 1, 1)
        self.cbam2 = _CBAM(NUMBER_PRO, reduction=1)

    def forward(self, x, masks):
        # x [1, P, HW, C] (global, n instances, template); masks [1, P, H, W]
        _, P, HW, C = x.shape
        H, W = masks.shape[2], masks.shape[3]
        xs = torch.cat([x, torch.zeros_like(x[:, :1])], 1)
        ms = torch.cat([masks.reshape(1, P, HW, 1), torch.zeros_like(masks[:, :1]).reshape(1, 1, HW, 1)], 1)
        s = torch.cat([xs, ms], -1).reshape(-1, H, W, C + 1).permute(0, 3, 1, 2)
        s = self.conv2(self.cbam1(self.conv1(s))).reshape(1, P + 1, H, W)
        null, s = s[:, -1:], s[:, :-1]
        n = P - 2
        inst = torch.cat([s[:, 1:-1], null.expand(1, MAX_INSTANCES - n, H, W)], 1)
        s = self.cbam2(torch.cat([s[:, :1], inst, s[:, -1:]], 1)).reshape(1, NUMBER_PRO, HW, 1)
        s = torch.cat([s[:, :1], s[:, 1:1 + n], s[:, -1:]], 1).softmax(1)
        return (x * s).sum(1)


class _PositionNet(nn.Module):
    """Box (x0, x1, y0, y1 as MIGC orders it) → Fourier features (8 frequencies) → MLP → 768."""

    def __init__(self, out_dim: int = SD1_TEXT_WIDTH):
        super().__init__()
        self.linears_position = nn.Sequential(nn.Linear(64, 512), nn.SiLU(), nn.Linear(512, 512), nn.SiLU(),
                                              nn.Linear(512, out_dim))

    def forward(self, boxes):
        return self.linears_position(fourier_boxes(boxes))


class MigcModule(nn.Module):
    """One MIGC block (`migc.*`): enhancement attention `ea` (instance features vs [phrase pooler;
    box token]), layout attention `la`, `norm`, `sac`, `pos_net`."""

    def __init__(self, channels: int, context_dim: int = SD1_TEXT_WIDTH):
        super().__init__()
        self.ea = _Attention(channels, context_dim)
        self.la = _Attention(channels, channels)
        self.norm = nn.LayerNorm(channels)
        self.sac = _SAC(channels)
        self.pos_net = _PositionNet(context_dim)

    def forward(self, ca, image, guidance, supplement, pooler, boxes):
        """ca [n+1, HW, C]: cross-attention of the cond row with [caption; phrases]; image [1, HW, C]:
        the attention's input; guidance [1, n, h, w], supplement [1, 1, h, w] at latent size;
        pooler [n, 1, D]; boxes [n, 4]. Returns the cond row's output [1, HW, C]."""
        n, HW, C = ca.shape[0] - 1, ca.shape[1], ca.shape[2]
        h, w = guidance.shape[2], guidance.shape[3]
        f = int(math.sqrt(h * w // HW))
        size = (h // f, w // f)
        gm = F.interpolate(guidance, size=size, mode="bilinear")
        sm = F.interpolate(supplement, size=size, mode="bilinear")
        gv, sv = gm.reshape(n, HW, 1), sm.reshape(1, HW, 1)
        context = torch.cat([pooler, self.pos_net(boxes.reshape(n, 1, 4))], 1)
        ea = self.ea(self.norm(image.expand(n, HW, C)), context) * gv
        inst = ca[1:] * gv + ea
        m = torch.cat([gm, sm], 1).reshape(1, n + 1, HW)
        allowed = (m.transpose(1, 2) @ m) > 0
        template = self.la(image, image, allowed)
        x = torch.cat([ca[:1] * sv, inst, template], 0).unsqueeze(0)
        masks = torch.cat([sm, gm, torch.ones_like(sm)], 1)
        return self.sac(x, masks)


# ------------------------------------------------------------------------------ the processor


class MigcInputs:
    """The MIGC graph's inputs, set by the graph wrapper before each UNet call."""

    embeddings = pooler = boxes = guidance = supplement = None


def _attend(attn, x, context):
    """diffusers' Attention (no residual, no norms: SD-1.x) of `x` over `context`."""
    b, h = x.shape[0], attn.heads
    split = lambda t: t.reshape(b, t.shape[1], h, -1).transpose(1, 2)  # noqa: E731
    q, k, v = split(attn.to_q(x)), split(attn.to_k(context)), split(attn.to_v(context))
    out = ((q @ k.transpose(-1, -2)) * attn.scale).softmax(-1) @ v
    return attn.to_out[1](attn.to_out[0](out.transpose(1, 2).reshape(b, x.shape[1], -1)))


class MigcAttnProcessor(nn.Module):
    """attn2 of a MIGC block: row 0 (uncond) attends to the negative text as usual; the cond row is
    attended against the caption and each phrase, and MIGC fuses the n+1 results (batch 1 only,
    as upstream: rows [uncond, cond])."""

    def __init__(self, migc: MigcModule, inputs: MigcInputs):
        super().__init__()
        self.migc = migc
        self.inputs = inputs

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **_):
        i = self.inputs
        n, HW, C = i.embeddings.shape[0], hidden_states.shape[1], hidden_states.shape[2]
        uncond = _attend(attn, hidden_states[:1], encoder_hidden_states[:1])
        image = hidden_states[1:2]
        ca = _attend(attn, image.expand(n + 1, HW, C), torch.cat([encoder_hidden_states[1:2], i.embeddings], 0))
        cond = self.migc(ca, image, i.guidance, i.supplement, i.pooler, i.boxes)
        return torch.cat([uncond, cond], 0)


class MigcUnetGraph(nn.Module):
    """The contract's MIGC graph: sample [2, 4, h, w], timestep [], encoder_hidden_states [2, 77, D]
    ([negative; caption]), instance_embeddings [n, 77, D], instance_pooler [n, 1, D], instance_boxes
    [n, 4] (x0, x1, y0, y1), guidance_mask [1, n, h, w], supplement_mask [1, 1, h, w]."""

    def __init__(self, unet, inputs: MigcInputs):
        super().__init__()
        self.unet, self.inputs = unet, inputs

    def forward(self, sample, timestep, encoder_hidden_states, instance_embeddings, instance_pooler, instance_boxes,
                guidance_mask, supplement_mask):
        i = self.inputs
        i.embeddings, i.pooler, i.boxes = instance_embeddings, instance_pooler, instance_boxes
        i.guidance, i.supplement = guidance_mask, supplement_mask
        t = timestep.reshape(1).expand(sample.shape[0])
        return self.unet(sample, t, encoder_hidden_states, return_dict=False)[0]


# ------------------------------------------------------------------------------ the checkpoint


def diffusers_block(key: str, source: str) -> str:
    """The diffusers attention block a MIGC_SD14.ckpt key belongs to (the official `load_migc` rule)."""
    parts = key.split(".")
    kinds = [LDM_BLOCKS[p] for p in parts if p in LDM_BLOCKS]
    if "migc" not in parts or not kinds or len(parts) < 5 or not parts[3].isdigit():
        raise ExportError(f"{source}: state_dict key {key!r} is not a MIGC key (expected "
                          "'<prefix>.<prefix>.<input_blocks|middle_block|output_blocks>.<index>.….migc.…')")
    i = int(parts[3])
    if kinds[0] == "mid":
        return "mid_block.attentions.0"
    level, att = (i // 3, i % 3 - 1) if kinds[0] == "down" else (i // 3, i % 3)
    if att < 0:
        raise ExportError(f"{source}: state_dict key {key!r}: input_blocks.{i} is a downsampler, not an attention block")
    return f"{kinds[0]}_blocks.{level}.attentions.{att}"


def read_migc_checkpoint(path: str) -> dict[str, dict]:
    """{diffusers block: MIGC module weights (keys after `migc.`)} from MIGC_SD14.ckpt."""
    if not os.path.isfile(path):
        raise ExportError(f"{path}: missing (--from: MIGC_SD14.ckpt)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ExportError(f"{path}: not a readable torch checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(obj, dict) or "state_dict" not in obj:
        found = sorted(map(str, obj))[:8] if isinstance(obj, dict) else type(obj).__name__
        raise ExportError(f"{path}: no 'state_dict' in the checkpoint (found {found}); expected MIGC_SD14.ckpt, "
                          "a dict whose 'state_dict' holds the MIGC weights")
    groups: dict[str, dict] = defaultdict(dict)
    for key, value in obj["state_dict"].items():
        parts = key.split(".")
        block = diffusers_block(key, path)
        groups[block][".".join(parts[parts.index("migc") + 1:])] = value
    if not groups:
        raise ExportError(f"{path}: 'state_dict' is empty; expected MIGC weights")
    return dict(groups)


def attach_migc(unet, groups: dict[str, dict], inputs: MigcInputs, ckpt: str, base: str) -> dict[str, MigcModule]:
    """Load each block's MigcModule (keys and shapes checked) and set its processor on the block's attn2."""
    modules = {}
    procs = dict(unet.attn_processors)
    for block, state in sorted(groups.items()):
        name = f"{block}.transformer_blocks.0.attn2.processor"
        if name not in procs:
            raise ExportError(f"{ckpt}: MIGC weights for {block}, which {base}/unet does not have")
        if "norm.bias" not in state:
            raise ExportError(f"{ckpt}: MIGC weights for {block} lack migc.norm.bias (their channel count)")
        C = state["norm.bias"].shape[0]
        attn = unet.get_submodule(f"{block}.transformer_blocks.0.attn2")
        if attn.to_q.in_features != C:
            raise ExportError(f"{ckpt}: MIGC weights for {block} have {C} channels (migc.norm.bias), but {base}/unet has "
                              f"{attn.to_q.in_features} there; expected the SD-1.4 base MIGC was trained on")
        m = MigcModule(C)
        check_state_dict(state, m.state_dict(), ckpt, what=f"MIGC weights of {block} (keys after 'migc.')")
        m.load_state_dict({k: v.float() for k, v in state.items()})
        modules[block] = m.eval()
        procs[name] = MigcAttnProcessor(m, inputs)
    unet.set_attn_processor(procs)
    return modules


# ------------------------------------------------------------------------------ export


def box_masks(boxes: torch.Tensor, latent: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The official guidance and supplement masks of xyxy boxes [n, 4]: 1 on rows int(8h·y0)…int(8h·y1)−1
    and columns int(8w·x0)…int(8w·x1)−1 at full resolution, bilinear to the latent size."""
    full = latent * 8
    m = torch.zeros(1, boxes.shape[0], full, full)
    for k, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
        m[0, k, int(full * y0):int(full * y1), int(full * x0):int(full * x1)] = 1
    sup = 1 - m.sum(1, keepdim=True).clamp(0, 1)
    down = lambda t: F.interpolate(t, size=(latent, latent), mode="bilinear")  # noqa: E731
    return down(m), down(sup)


def example_inputs(latent: int, n: int, seed: int = 0) -> tuple:
    """Random MIGC graph inputs with n instances (boxes in MIGC's x0, x1, y0, y1 order)."""
    rnd = seeded(seed)
    g = torch.Generator().manual_seed(seed + 1)
    lo = torch.rand(n, 2, generator=g) * 0.5
    xyxy = torch.cat([lo, lo + 0.2 + 0.3 * torch.rand(n, 2, generator=g)], 1)
    gm, sm = box_masks(xyxy, latent)
    D = SD1_TEXT_WIDTH
    return (rnd(2, 4, latent, latent), torch.tensor(601.0), rnd(2, 77, D), rnd(n, 77, D), rnd(n, 1, D),
            xyxy[:, [0, 2, 1, 3]].contiguous(), gm, sm)


def manifest() -> dict:
    return {
        "family": "migc",
        "unet": {"file": "unet/model.onnx", "output": "out_sample",
                 "inputs": {**STANDARD_UNET_INPUTS, **{k: k for k in MIGC_INPUTS}}},
        "graphs": {"plain": {"file": "plain/model.onnx", "output": "out_sample", "inputs": dict(STANDARD_UNET_INPUTS)}},
    }


def export(args) -> None:
    if not args.base:
        raise ExportError("--base: required for migc (the SD-1.4 diffusers folder MIGC_SD14.ckpt applies to)")
    groups = read_migc_checkpoint(args.source)
    base = load_base(args.base, fp16=args.fp16)
    check_sd1_layout(dict(base.unet.config), os.path.join(args.base, "unet", "config.json"))
    inputs = MigcInputs()
    plain_procs = dict(base.unet.attn_processors)
    modules = attach_migc(base.unet, groups, inputs, args.source, args.base)
    if args.fp16:
        for m in modules.values():
            round_to_fp16(m)
    size = latent_size(base)
    print(f"exporting {args.source} on {base.folder} (MIGC in {', '.join(sorted(groups))}; latent {size}², fixed SAC order)")
    reports = export_base_graphs(args, base)
    axes = {"instance_embeddings": {0: "n"}, "instance_pooler": {0: "n"}, "instance_boxes": {0: "n"},
            "guidance_mask": {1: "n"}}
    common = dict(fp16=args.fp16, external=args.external_data)
    reports.append(export_graph(
        args.folder, "unet/model.onnx", MigcUnetGraph(base.unet, inputs), example_inputs(size, 3),
        [*STANDARD_UNET_INPUTS, *MIGC_INPUTS], ["out_sample"], axes,
        check_args=[example_inputs(size, 1, seed=1), example_inputs(size, 6, seed=2)], **common))
    base.unet.set_attn_processor(plain_procs)
    reports.append(export_graph(
        args.folder, "plain/model.onnx", UnetGraph(base.unet), unet_check_inputs(base, 2, 0), list(STANDARD_UNET_INPUTS),
        ["out_sample"], unet_dynamic_axes(dynamic_size=False), check_args=[unet_check_inputs(base, 1, 1)], **common))
    write_folder(args.folder, manifest=manifest(), scheduler=base.scheduler, tokenizer_dir=base.tokenizer_dir,
                 reports=reports, fp16=args.fp16,
                 source={"family": "migc", "from": os.path.abspath(args.source), "base": base.folder,
                         "migc_blocks": sorted(groups), "sac_order": "fixed (instances, then null slots)"})
