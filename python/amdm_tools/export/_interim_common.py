"""Shared exporter machinery used by the interactdiffusion and migc families (a minimal local
version; the package's common module replaces it).

Everything here is family-independent: the error type, the staged output folder (a temp folder
renamed into place only when complete), checkpoint loading, the ONNX export of one graph with its
check against torch, and the SD-1.x components every folder carries (text encoder with
`pooler_output`, VAE decoder, tokenizer, DDIM scheduler config, model_index.json)."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

OPSET = 17
RTOL = 1e-4
STANDARD_INPUTS = {"sample": "latent", "timestep": "timestep", "encoder_hidden_states": "text"}
TOKENIZER_FILES = ("vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json")
MODEL_INDEX = {
    "_class_name": "ORTStableDiffusionPipeline",
    "_diffusers_version": "0.31.0",
    "feature_extractor": [None, None],
    "requires_safety_checker": False,
    "safety_checker": [None, None],
    "scheduler": ["diffusers", "DDIMScheduler"],
    "text_encoder": ["onnxruntime", "ORTModelTextEncoder"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["onnxruntime", "ORTModelUnet"],
    "vae_decoder": ["onnxruntime", "ORTModelVaeDecoder"],
}


class ExportError(Exception):
    """A checkpoint that cannot be exported; the message names the file, what was found and what
    was expected."""


@contextlib.contextmanager
def staged_folder(out: str | os.PathLike):
    """Yield a fresh temp folder beside `out`; on success it replaces `out`, on any error it is
    removed, so `out` is either the complete new folder or untouched."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            os.replace(out, old)
            shutil.rmtree(old)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_state_dict(path: str | os.PathLike) -> dict:
    """Tensors of a .safetensors file, or the unpickled object of a .bin/.ckpt/.pt (tensors only)."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"{path}: no such file")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises several unpickling error types
        raise ExportError(f"{path}: cannot be read as a torch checkpoint of tensors ({type(e).__name__}: {e})") from e


def write_json(path: str | os.PathLike, obj) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")


def _relative_error(got: np.ndarray, want: np.ndarray) -> float:
    scale = float(np.abs(want).max()) or 1.0
    return float(np.abs(got - want).max()) / scale


def export_graph(module, args, path, input_names, output_names, dynamic_axes, check_args=None):
    """torch.onnx.export `module` to `path` (weights in one external data file beside it), then run
    it in onnxruntime on `check_args` (default: `args`) and require every output within RTOL
    (max abs error / max abs value) of torch. Returns the worst relative error."""
    import onnx
    import onnxruntime as ort

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, tuple(args), str(path), input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True)
        model = onnx.load(str(path))
        for f in path.parent.iterdir():
            if f != path:
                f.unlink()
        onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                  location=path.name + "_data", size_threshold=1024)
        check_args = tuple(check_args if check_args is not None else args)
        want = module(*check_args)
        want = list(want) if isinstance(want, (tuple, list)) else [want]
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {n: a.numpy() for n, a in zip(input_names, check_args)}
    got = sess.run(output_names, feeds)
    worst = 0.0
    for name, g, w in zip(output_names, got, want):
        err = _relative_error(g, w.numpy())
        if not err <= RTOL:
            raise ExportError(f"{path}: output '{name}' differs from torch by {err:.3g} (relative), more than {RTOL}")
        worst = max(worst, err)
    return worst


class _TextEncoderGraph(torch.nn.Module):
    def __init__(self, te):
        super().__init__()
        self.te = te

    def forward(self, input_ids):
        out = self.te(input_ids)
        return out.last_hidden_state, out.pooler_output


class _VaeDecoderGraph(torch.nn.Module):
    """optimum's vae_decoder: latent_sample = latents / scaling_factor → image in [-1, 1]."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample).sample


def export_sd_components(src: Path, out: Path, text_width: int, latent: int = 8) -> None:
    """text_encoder/, vae_decoder/, tokenizer/, scheduler/ and model_index.json of an SD-1.x
    diffusers folder `src` into `out`."""
    from diffusers import AutoencoderKL
    from transformers import CLIPTextModel

    for sub in ("text_encoder", "vae", "tokenizer", "scheduler"):
        if not (src / sub).is_dir():
            raise ExportError(f"{src}: has no {sub}/ folder (expected a diffusers Stable Diffusion 1.x folder)")
    te = CLIPTextModel.from_pretrained(str(src / "text_encoder")).eval()
    if te.config.hidden_size != text_width:
        raise ExportError(f"{src / 'text_encoder/config.json'}: hidden_size {te.config.hidden_size}, "
                          f"expected {text_width} (the UNet's cross_attention_dim)")
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, te.config.vocab_size, (2, te.config.max_position_embeddings), generator=g)
    export_graph(_TextEncoderGraph(te), (ids,), out / "text_encoder/model.onnx", ["input_ids"],
                 ["last_hidden_state", "pooler_output"],
                 {"input_ids": {0: "batch", 1: "sequence"}, "last_hidden_state": {0: "batch", 1: "sequence"},
                  "pooler_output": {0: "batch"}})
    vae = AutoencoderKL.from_pretrained(str(src / "vae")).eval()
    export_graph(_VaeDecoderGraph(vae), (torch.randn(1, 4, latent, latent, generator=g),),
                 out / "vae_decoder/model.onnx", ["latent_sample"], ["sample"],
                 {"latent_sample": {0: "batch", 2: "height", 3: "width"}, "sample": {0: "batch", 2: "h", 3: "w"}})
    write_json(out / "vae_decoder/config.json", dict(vae.config))
    (out / "tokenizer").mkdir(parents=True)
    for f in TOKENIZER_FILES:
        if not (src / "tokenizer" / f).is_file():
            raise ExportError(f"{src / 'tokenizer'}: has no {f}")
        shutil.copy(src / "tokenizer" / f, out / "tokenizer" / f)
    write_json(out / "scheduler/scheduler_config.json", ddim_config(src / "scheduler/scheduler_config.json"))
    write_json(out / "model_index.json", MODEL_INDEX)


def ddim_config(path: Path) -> dict:
    """A DDIM scheduler config with the betas of the source folder's scheduler (SD-1.x ships PNDM)."""
    src = json.loads(path.read_text())
    keep = ("beta_start", "beta_end", "beta_schedule", "num_train_timesteps", "steps_offset", "trained_betas",
            "prediction_type")
    cfg = {"_class_name": "DDIMScheduler", "clip_sample": False, "set_alpha_to_one": False,
           "timestep_spacing": "leading", "prediction_type": "epsilon"}
    cfg.update({k: src[k] for k in keep if k in src and src[k] is not None})
    return cfg


SD1_DOWN = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
SD1_UP = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
SD1_TEXT_WIDTH = 768


def read_sd1_unet_config(path: Path, attention_type: str = "default") -> dict:
    """unet/config.json of an SD-1.x UNet (SD-1.x block layout, 4 latent channels, 768-wide text);
    SD-2.x (1024), SDXL (2048, text_time) and others fail naming the field found."""
    if not path.is_file():
        raise ExportError(f"{path}: no such file (expected a diffusers UNet config)")
    cfg = json.loads(path.read_text())
    found = cfg.get("cross_attention_dim")
    if cfg.get("addition_embed_type") == "text_time" or found == 2048:
        raise ExportError(f"{path}: an SDXL UNet (cross_attention_dim {found}, addition_embed_type "
                          f"{cfg.get('addition_embed_type')!r}); expected Stable Diffusion 1.x (cross_attention_dim 768)")
    if found != SD1_TEXT_WIDTH:
        kind = " (Stable Diffusion 2.x)" if found == 1024 else ""
        raise ExportError(f"{path}: cross_attention_dim {found}{kind}; expected {SD1_TEXT_WIDTH} (Stable Diffusion 1.x)")
    checks = {"in_channels": 4, "out_channels": 4, "down_block_types": SD1_DOWN, "up_block_types": SD1_UP,
              "attention_type": attention_type}
    for key, want in checks.items():
        got = cfg.get(key, "default" if key == "attention_type" else None)
        if got is not None and not isinstance(got, str):
            got = list(got) if isinstance(got, (list, tuple)) else got
        if got != want:
            raise ExportError(f"{path}: {key} is {got!r}; expected {want!r} (Stable Diffusion 1.x layout)")
    return cfg


def check_state_dict(found: dict, expected: dict, file, what: str, hints: dict | None = None) -> None:
    """Require `found` to have exactly `expected`'s keys with the same shapes. `hints` maps a key
    prefix to an explanation shown when keys under it are missing."""
    missing = [k for k in expected if k not in found]
    if missing:
        hint = next((h for p, h in (hints or {}).items() if any(k.startswith(p) or p in k for k in missing)), "")
        raise ExportError(f"{file}: {len(missing)} key(s) of {what} missing, e.g. {missing[0]!r}"
                          + (f" ({hint})" if hint else ""))
    extra = [k for k in found if k not in expected]
    if extra:
        raise ExportError(f"{file}: {len(extra)} unexpected key(s) for {what}, e.g. {extra[0]!r}")
    for k, t in expected.items():
        if tuple(found[k].shape) != tuple(t.shape):
            raise ExportError(f"{file}: {k!r} has shape {list(found[k].shape)}, expected {list(t.shape)} ({what})")
