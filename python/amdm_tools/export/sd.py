"""`amdm export sd --from <diffusers SD-1.x folder> --out <folder> [--fp16]`: a plain SD-1.x pipeline
(as `runwayml/stable-diffusion-v1-5` or `CompVis/stable-diffusion-v1-4` are downloaded in
diffusers' layout) to the folder of docs/models.md:

    model_index.json, scheduler/scheduler_config.json (DDIM, the source's noise schedule),
    tokenizer/, text_encoder/model.onnx  input_ids → last_hidden_state, pooler_output
    unet/model.onnx                       sample, timestep (float32 []), encoder_hidden_states → out_sample
    vae_decoder/model.onnx                latent_sample (latents / scaling factor) → sample in [−1, 1]
    amdm.json ("family": "sd"), export.json

The other families build on the same base (`load_base`, `export_base_graphs`, `UnetGraph`).
SD-2.x, SDXL, inpainting and v-prediction pipelines are refused with the reason.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .common import (
    STANDARD_UNET_INPUTS,
    ExportError,
    GraphReport,
    ddim_scheduler_config,
    export_graph,
    read_json,
    require_dir,
    require_file,
    round_to_fp16,
    seeded,
    write_folder,
    write_json,
)

TEXT_TOKENS = 77
CHECK_TIMESTEP = 601.0


def add_arguments(p) -> None:
    p.add_argument("--dynamic-size", action="store_true",
                   help="symbolic latent height/width (jobs then give height and width); default: the UNet's sample_size")


# ------------------------------------------------------------------------------ reading the base


@dataclass
class SdBase:
    folder: str
    unet: torch.nn.Module
    text_encoder: torch.nn.Module
    vae: torch.nn.Module
    scheduler: dict
    tokenizer_dir: str
    # the source's vae scaling factor (amdm's job default is SD-1.x's 0.18215)
    scaling_factor: float


def check_sd1(folder: str) -> dict:
    """The pipeline's configs, after refusing what is not an SD-1.x epsilon text-to-image model."""
    require_dir(folder, "--from/--base: a diffusers Stable Diffusion 1.x folder")
    index_path = os.path.join(folder, "model_index.json")
    if not os.path.isfile(index_path) and os.path.isfile(folder):
        raise ExportError(f"{folder}: expected a diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/)")
    index = read_json(index_path, "a diffusers pipeline's model_index.json")
    if "text_encoder_2" in index or "SDXL" in str(index.get("_class_name", "")) or "XL" in str(index.get("_class_name", "")):
        raise ExportError(f"{index_path}: {index.get('_class_name')} with text_encoder_2 is SDXL; amdm export sd takes SD-1.x (one CLIP text encoder, 768-wide)")
    unet_cfg_path = os.path.join(folder, "unet", "config.json")
    unet = read_json(unet_cfg_path, "the UNet's config")
    if unet.get("addition_embed_type") == "text_time":
        raise ExportError(f"{unet_cfg_path}: addition_embed_type 'text_time' is SDXL; expected an SD-1.x UNet")
    if unet.get("use_linear_projection") or unet.get("cross_attention_dim") == 1024:
        raise ExportError(
            f"{unet_cfg_path}: cross_attention_dim {unet.get('cross_attention_dim')}, use_linear_projection "
            f"{unet.get('use_linear_projection')} is SD-2.x; expected SD-1.x (768, false)")
    if unet.get("in_channels", 4) != 4:
        raise ExportError(f"{unet_cfg_path}: in_channels {unet.get('in_channels')} (an inpainting or depth UNet); expected 4")
    sched_path = os.path.join(folder, "scheduler", "scheduler_config.json")
    sched = read_json(sched_path, "the scheduler's config")
    if sched.get("prediction_type", "epsilon") != "epsilon":
        raise ExportError(f"{sched_path}: prediction_type {sched.get('prediction_type')!r}; AMDM's DDIM step needs 'epsilon' (SD-1.x)")
    te_path = os.path.join(folder, "text_encoder", "config.json")
    te = read_json(te_path, "the text encoder's config")
    if te.get("hidden_size") != unet.get("cross_attention_dim"):
        raise ExportError(
            f"{te_path}: hidden_size {te.get('hidden_size')} but {unet_cfg_path} has cross_attention_dim "
            f"{unet.get('cross_attention_dim')}; they must be equal")
    for f in ("vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"):
        require_file(os.path.join(folder, "tokenizer", f), "CLIP tokenizer file")
    return {"index": index, "unet": unet, "scheduler": sched}


def from_pretrained_checked(cls, folder: str, sub: str):
    """`cls.from_pretrained(folder/sub)` with every weight accounted for: a missing or unknown key or
    a shape mismatch is an ExportError naming it (diffusers and transformers only warn)."""
    path = os.path.join(folder, sub)
    require_dir(path, f"the pipeline's {sub}/")
    try:
        model, info = cls.from_pretrained(path, output_loading_info=True, local_files_only=True)
    except (OSError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ExportError(f"{path}: cannot load {cls.__name__}: {first}") from None
    bad = {k: v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys") and v}
    # transformers' CLIP text model keeps position_ids as a non-persistent buffer: older saves hold it
    if "unexpected_keys" in bad:
        bad["unexpected_keys"] = [k for k in bad["unexpected_keys"] if not k.endswith("embeddings.position_ids")]
        if not bad["unexpected_keys"]:
            del bad["unexpected_keys"]
    if bad:
        parts = [f"{k.replace('_', ' ')}: {', '.join(map(str, v[:5]))}{' …' if len(v) > 5 else ''}" for k, v in bad.items()]
        raise ExportError(f"{path}: the weights do not match {cls.__name__}'s config: " + "; ".join(parts))
    return model.float().eval()


def load_base(folder: str, *, fp16: bool, unet_cls=None) -> SdBase:
    """Load an SD-1.x diffusers folder (fp32 modules; weights rounded to float16 with `fp16`)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    cfg = check_sd1(folder)
    unet = from_pretrained_checked(unet_cls or UNet2DConditionModel, folder, "unet")
    te = from_pretrained_checked(CLIPTextModel, folder, "text_encoder")
    vae = from_pretrained_checked(AutoencoderKL, folder, "vae")
    if fp16:
        for m in (unet, te, vae):
            round_to_fp16(m)
    return SdBase(
        folder=os.path.abspath(folder), unet=unet, text_encoder=te, vae=vae,
        scheduler=ddim_scheduler_config(cfg["scheduler"]), tokenizer_dir=os.path.join(folder, "tokenizer"),
        scaling_factor=float(vae.config.scaling_factor),
    )


# ------------------------------------------------------------------------------ graphs


class TextEncoderGraph(torch.nn.Module):
    """input_ids → (last_hidden_state, pooler_output), as optimum's text encoder."""

    def __init__(self, te):
        super().__init__()
        self.te = te

    def forward(self, input_ids):
        out = self.te(input_ids=input_ids, return_dict=True)
        return out.last_hidden_state, out.pooler_output


class VaeDecoderGraph(torch.nn.Module):
    """latent_sample (the latents divided by the scaling factor, as amdm and optimum feed it) → image."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample, return_dict=False)[0]


class UnetGraph(torch.nn.Module):
    """sample, timestep (float32 []), encoder_hidden_states → ε (the UNet's `sample` output)."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]


def latent_size(base: SdBase) -> int:
    s = base.unet.config.sample_size
    return s[0] if isinstance(s, (list, tuple)) else int(s)


def unet_dynamic_axes(extra: dict | None = None, *, dynamic_size: bool) -> dict:
    lat = {0: "batch", 2: "height", 3: "width"} if dynamic_size else {0: "batch"}
    axes = {"sample": lat, "encoder_hidden_states": {0: "batch"}, "out_sample": lat}
    axes.update(extra or {})
    return axes


def export_base_graphs(args, base: SdBase) -> list[GraphReport]:
    """text_encoder/ and vae_decoder/ (+ vae_decoder/config.json), checked against torch."""
    out, rnd = args.folder, seeded(1)
    vocab = base.text_encoder.config.vocab_size
    g = torch.Generator().manual_seed(2)
    ids = lambda b: torch.randint(0, vocab - 1, (b, TEXT_TOKENS), generator=g)  # noqa: E731
    reports = [export_graph(
        out, "text_encoder/model.onnx", TextEncoderGraph(base.text_encoder), (ids(2),), ["input_ids"],
        ["last_hidden_state", "pooler_output"],
        {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}},
        fp16=args.fp16, external=args.external_data, check_args=[(ids(3),), (ids(3)[:, :7],)])]
    C = base.vae.config.latent_channels
    s = latent_size(base)
    dyn = {0: "batch", 2: "height", 3: "width"} if getattr(args, "dynamic_size", False) else {0: "batch"}
    reports.append(export_graph(
        out, "vae_decoder/model.onnx", VaeDecoderGraph(base.vae), (rnd(1, C, s, s) * 4,), ["latent_sample"], ["sample"],
        {"latent_sample": dyn, "sample": dyn}, fp16=args.fp16, external=args.external_data,
        check_args=[(rnd(2, C, s, s) * 4,)]))
    write_json(out, "vae_decoder/config.json", dict(base.vae.config))
    return reports


def unet_check_inputs(base: SdBase, batch: int, seed: int, tokens: int = TEXT_TOKENS) -> tuple:
    """Random (sample, timestep, encoder_hidden_states) of a batch for export and check."""
    rnd = seeded(seed)
    C, s, D = base.unet.config.in_channels, latent_size(base), base.unet.config.cross_attention_dim
    return rnd(batch, C, s, s), torch.tensor(CHECK_TIMESTEP if seed % 2 == 0 else 1.0), rnd(batch, tokens, D)


def export(args) -> None:
    base = load_base(args.source, fp16=args.fp16)
    print(f"exporting {base.folder} (SD-1.x, latent {latent_size(base)}², text width "
          f"{base.unet.config.cross_attention_dim})")
    reports = export_base_graphs(args, base)
    reports.append(export_graph(
        args.folder, "unet/model.onnx", UnetGraph(base.unet), unet_check_inputs(base, 2, 0),
        list(STANDARD_UNET_INPUTS), ["out_sample"], unet_dynamic_axes(dynamic_size=args.dynamic_size),
        fp16=args.fp16, external=args.external_data, check_args=[unet_check_inputs(base, 1, 1)]))
    manifest = {"family": "sd", "unet": {"file": "unet/model.onnx", "output": "out_sample", "inputs": dict(STANDARD_UNET_INPUTS)}}
    write_folder(args.folder, manifest=manifest, scheduler=base.scheduler, tokenizer_dir=base.tokenizer_dir,
                 reports=reports, source={"family": "sd", "from": base.folder, "scaling_factor": base.scaling_factor},
                 fp16=args.fp16)
