"""`amdm export ipadapter --from ip-adapter_sd15.bin|.safetensors --base <SD-1.5 diffusers folder>
[--image-encoder <folder>] --out <folder> [--fp16]`: tencent's IP-Adapter (4 image tokens) on an SD-1.x
base, loaded as diffusers loads it (`UNet2DConditionModel._load_ip_adapter_weights`), to the
folder of docs/models.md (IP-Adapter):

    image_encoder/model.onnx  pixel_values [B, 3, S, S] → image_embeds [B, E]  (CLIPVisionModelWithProjection)
    image_proj/model.onnx     image_embeds [B, E] → ip_tokens [B, 4, D]         (Linear → reshape → LayerNorm)
    unet/model.onnx           sample, timestep, encoder_hidden_states [2B, 77 + 4, D], ip_scale [] → out_sample

plus the base's text encoder, VAE decoder, tokenizer and scheduler. The UNet graph takes the image
tokens already projected (amdm runs image_proj once per image) and the IP scale as an input
(role `scale`): the wrapper sets every IP processor's scale to that tensor. The image encoder
folder defaults to `image_encoder/` beside the adapter file, as in the h94/IP-Adapter layout
(`models/ip-adapter_sd15.bin`, `models/image_encoder/`).
"""
from __future__ import annotations

import os

import torch

from .common import (
    STANDARD_UNET_INPUTS,
    ExportError,
    check_state_dict,
    export_graph,
    load_tensors,
    round_to_fp16,
    seeded,
    write_folder,
)
from .sd import TEXT_TOKENS, export_base_graphs, load_base, unet_check_inputs, unet_dynamic_axes

IP_TOKENS = 4


def add_arguments(p) -> None:
    p.add_argument("--image-encoder", help="CLIP image encoder folder (config.json + weights; default: image_encoder/ beside --from)")
    p.add_argument("--dynamic-size", action="store_true", help="symbolic latent height/width")


def read_adapter(path: str) -> tuple[dict, dict]:
    """(image_proj, ip_adapter) state dicts of an IP-Adapter file: a `.bin` holds the two dicts, a
    `.safetensors` flat keys `image_proj.*` and `ip_adapter.*`."""
    raw = load_tensors(path)
    if "image_proj" in raw and "ip_adapter" in raw and isinstance(raw["image_proj"], dict):
        proj, ip = raw["image_proj"], raw["ip_adapter"]
    else:
        proj = {k[len("image_proj."):]: v for k, v in raw.items() if k.startswith("image_proj.")}
        ip = {k[len("ip_adapter."):]: v for k, v in raw.items() if k.startswith("ip_adapter.")}
    if not proj or not ip:
        keys = ", ".join(list(raw)[:5])
        raise ExportError(f"{path}: expected IP-Adapter weights under 'image_proj' and 'ip_adapter'; found keys {keys}")
    if "proj.weight" not in proj:
        kind = "IP-Adapter Plus (a resampler)" if "latents" in proj else "an unknown image projection"
        raise ExportError(
            f"{path}: image_proj has {', '.join(sorted(proj)[:4])} ({kind}); amdm export ipadapter takes the "
            "4-token ip-adapter_sd15 (image_proj.proj.weight, proj.bias, norm.weight, norm.bias)")
    return proj, ip


def expected_adapter(unet, embed_dim: int) -> tuple[dict, dict]:
    """The keys and shapes diffusers' loader reads for this UNet (ip_adapter: '<n>.to_k_ip.weight',
    n = 1, 3, 5, … counting the UNet's attention processors, cross-attention ones only)."""
    D = unet.config.cross_attention_dim
    proj = {"proj.weight": torch.empty(IP_TOKENS * D, embed_dim), "proj.bias": torch.empty(IP_TOKENS * D),
            "norm.weight": torch.empty(D), "norm.bias": torch.empty(D)}
    ip, key_id = {}, 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        attn = unet.get_submodule(name[: -len(".processor")])
        for kv in ("to_k_ip", "to_v_ip"):
            ip[f"{key_id}.{kv}.weight"] = torch.empty(attn.to_k.out_features, D)
        key_id += 2
    return proj, ip


def load_image_encoder(folder: str):
    from transformers import CLIPVisionModelWithProjection

    from .sd import from_pretrained_checked

    return from_pretrained_checked(CLIPVisionModelWithProjection, os.path.dirname(folder), os.path.basename(folder))


class ImageEncoderGraph(torch.nn.Module):
    def __init__(self, enc):
        super().__init__()
        self.enc = enc

    def forward(self, pixel_values):
        return self.enc(pixel_values=pixel_values).image_embeds


class IpUnetGraph(torch.nn.Module):
    """encoder_hidden_states = [text (77) ; ip_tokens (4)] and ip_scale → ε of the IP-Adapter UNet."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet
        self.processors = [p for n, p in unet.attn_processors.items() if not n.endswith("attn1.processor")]

    def forward(self, sample, timestep, encoder_hidden_states, ip_scale):
        for p in self.processors:
            p.scale = [ip_scale]
        text, ip = encoder_hidden_states[:, :TEXT_TOKENS], encoder_hidden_states[:, TEXT_TOKENS:]
        # the tuple the UNet builds after its own projection (encoder_hid_proj), given projected here
        return self.unet(sample, timestep, encoder_hidden_states=(text, [ip]), return_dict=False)[0]


def attach_adapter(unet, proj: dict, ip: dict):
    """diffusers' own loading of the adapter into the UNet; returns the image projection module,
    and leaves the UNet taking projected tokens (its encoder_hid_proj removed)."""
    unet._load_ip_adapter_weights([{"image_proj": proj, "ip_adapter": ip}])
    image_proj = unet.encoder_hid_proj.image_projection_layers[0]
    unet.encoder_hid_proj = None
    unet.config.encoder_hid_dim_type = None
    return image_proj.eval()


def export(args) -> None:
    if not args.base:
        raise ExportError("--base: required: the diffusers SD-1.5 folder the adapter was trained on")
    proj, ip = read_adapter(args.source)
    enc_dir = args.image_encoder or os.path.join(os.path.dirname(os.path.abspath(args.source)), "image_encoder")
    encoder = load_image_encoder(enc_dir)
    embed_dim = encoder.config.projection_dim
    base = load_base(args.base, fp16=False)
    want_proj, want_ip = expected_adapter(base.unet, embed_dim)
    check_state_dict(proj, want_proj, f"{args.source} (image_proj, image encoder {enc_dir} projects to {embed_dim})",
                     what="image_proj weights")
    check_state_dict(ip, want_ip, f"{args.source} (ip_adapter, base {args.base})", what="ip_adapter weights")
    image_proj = attach_adapter(base.unet, proj, ip)
    if args.fp16:
        for m in (base.unet, base.text_encoder, base.vae, encoder, image_proj):
            round_to_fp16(m)
    print(f"exporting IP-Adapter {args.source} on {base.folder} (image encoder {enc_dir}, {embed_dim}-d embeddings)")
    reports = export_base_graphs(args, base)
    rnd = seeded(5)
    S = encoder.config.image_size
    reports.append(export_graph(
        args.folder, "image_encoder/model.onnx", ImageEncoderGraph(encoder), (rnd(1, 3, S, S),), ["pixel_values"],
        ["image_embeds"], {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, fp16=args.fp16,
        external=args.external_data, check_args=[(rnd(2, 3, S, S),)]))
    reports.append(export_graph(
        args.folder, "image_proj/model.onnx", image_proj, (rnd(1, embed_dim),), ["image_embeds"], ["ip_tokens"],
        {"image_embeds": {0: "batch"}, "ip_tokens": {0: "batch"}}, fp16=args.fp16, external=args.external_data,
        check_args=[(torch.zeros(2, embed_dim),)]))
    x, t, text = unet_check_inputs(base, 2, 0, tokens=TEXT_TOKENS + IP_TOKENS)
    x1, t1, text1 = unet_check_inputs(base, 1, 1, tokens=TEXT_TOKENS + IP_TOKENS)
    names = list(STANDARD_UNET_INPUTS) + ["ip_scale"]
    reports.append(export_graph(
        args.folder, "unet/model.onnx", IpUnetGraph(base.unet), (x, t, text, torch.tensor(0.8)), names, ["out_sample"],
        unet_dynamic_axes(dynamic_size=args.dynamic_size), fp16=args.fp16, external=args.external_data,
        check_args=[(x1, t1, text1, torch.tensor(0.3))]))
    manifest = {"family": "ipadapter",
                "unet": {"file": "unet/model.onnx", "output": "out_sample", "inputs": {**STANDARD_UNET_INPUTS, "ip_scale": "scale"}}}
    write_folder(args.folder, manifest=manifest, scheduler=base.scheduler, tokenizer_dir=base.tokenizer_dir,
                 reports=reports, fp16=args.fp16,
                 source={"family": "ipadapter", "from": os.path.abspath(args.source), "base": base.folder,
                         "image_encoder": os.path.abspath(enc_dir), "scaling_factor": base.scaling_factor})

