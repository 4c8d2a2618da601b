"""Shared machinery of `amdm export`: reading checkpoints with checked keys and shapes, torch → ONNX
export of wrapper modules, float16 weight storage, external data, the check of every graph
against torch, and the files every model folder of docs/models.md holds.

A family module (sd.py, ipadapter.py, …) builds torch modules from the user's checkpoint, wraps
each graph of the contract in a module with named inputs and outputs, and calls `export_graph`
for each, then `write_folder` with the manifest (`amdm.json`). Errors are `ExportError`s whose
message names the file, the key or shape found and what was expected; `__main__` prints them
without a traceback. The output folder is written only through `staged_output`, so a failed
export leaves nothing behind.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
SD_SCALING_FACTOR = 0.18215
# Graph inputs of the plain SD UNet (src/onnx/manifest.ts STANDARD_UNET_INPUTS).
STANDARD_UNET_INPUTS = {"sample": "latent", "timestep": "timestep", "encoder_hidden_states": "text"}
TOKENIZER_FILES = ("vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json")
# optimum's model_index.json for an ONNX SD pipeline (what src/onnx/model-folder.ts reads).
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
# Weights go to external data when a graph's initializers exceed this ("auto"): protobuf cannot
# serialise a message over 2 GiB, and an fp32 SD-1.5 UNet holds 3.4 GB.
EXTERNAL_DATA_THRESHOLD = 1 << 30
# Largest external data file: Node's fs.readFile reads at most 2 GiB − 1 bytes per file.
EXTERNAL_SHARD_BYTES = 1 << 30
# Initializers smaller than this stay inside model.onnx.
EXTERNAL_MIN_BYTES = 1024
CHECK_TOLERANCE = 1e-4


class ExportError(Exception):
    """A checkpoint or option that cannot be exported; the message says what and where."""


# ------------------------------------------------------------------------------ reading inputs


def require_file(path: str, what: str) -> str:
    if not os.path.isfile(path):
        raise ExportError(f"{path}: missing ({what})")
    return path


def require_dir(path: str, what: str) -> str:
    if not os.path.isdir(path):
        raise ExportError(f"{path}: not a folder ({what})")
    return path


def read_json(path: str, what: str) -> dict:
    require_file(path, what)
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except json.JSONDecodeError as e:
        raise ExportError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(obj, dict):
        raise ExportError(f"{path}: expected a JSON object ({what}), found {type(obj).__name__}")
    return obj


def load_tensors(path: str) -> dict:
    """A checkpoint file as a dict: `.safetensors` (safetensors) or a torch pickle (`.bin`, `.ckpt`,
    `.pt`, `.pth`), the latter with `weights_only=True` so no code in it runs."""
    require_file(path, "checkpoint")
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        try:
            return load_file(path, device="cpu")
        except Exception as e:  # safetensors raises its own error types
            raise ExportError(f"{path}: not a readable safetensors file ({e})") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ExportError(f"{path}: not a readable torch checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(obj, dict):
        raise ExportError(f"{path}: expected a dict of tensors, found {type(obj).__name__}")
    return obj


def _shape(t: Any) -> str:
    return "[" + ", ".join(str(d) for d in t.shape) + "]" if hasattr(t, "shape") else type(t).__name__


def check_state_dict(found: Mapping[str, Any], expected: Mapping[str, Any], source: str, *, what: str = "weights") -> None:
    """Every expected key present with its shape, and no unknown key; else an ExportError naming
    the keys and shapes (at most 5 of each kind)."""
    missing = [k for k in expected if k not in found]
    unknown = [k for k in found if k not in expected]
    wrong = [k for k in expected if k in found and tuple(getattr(found[k], "shape", ())) != tuple(expected[k].shape)]
    if not (missing or unknown or wrong):
        return
    parts = []
    if wrong:
        parts.append("shape mismatch: " + "; ".join(f"{k} is {_shape(found[k])}, expected {_shape(expected[k])}" for k in wrong[:5]))
    if missing:
        parts.append(f"{len(missing)} missing key(s): " + ", ".join(f"{k} {_shape(expected[k])}" for k in missing[:5]))
    if unknown:
        parts.append(f"{len(unknown)} unknown key(s): " + ", ".join(f"{k} {_shape(found[k])}" for k in unknown[:5]))
    raise ExportError(f"{source}: {what} do not match: " + "; ".join(parts))


def load_checked(module: torch.nn.Module, state: Mapping[str, Any], source: str, *, what: str = "weights") -> torch.nn.Module:
    """`module.load_state_dict(state)` after `check_state_dict` against the module's own keys."""
    check_state_dict(state, module.state_dict(), source, what=what)
    module.load_state_dict(state, strict=True)
    return module.eval()


def round_to_fp16(module: torch.nn.Module) -> torch.nn.Module:
    """Round every floating parameter and buffer to float16 precision in place: the torch side of
    the check then computes with exactly the weights the `--fp16` graph stores."""
    with torch.no_grad():
        for t in list(module.parameters()) + list(module.buffers()):
            if t.is_floating_point():
                t.copy_(t.half().float())
    return module


# ------------------------------------------------------------------------------ ONNX graphs


def fp16_initializers(model: onnx.ModelProto, min_size: int = 16) -> int:
    """Store the float32 initializers whose values are float16 numbers (the rounded weights) as
    float16, each followed by a Cast back to float32. Inputs, outputs and arithmetic stay float32,
    so the fp16 pitfall of half-precision activations (overflow to inf/NaN, black images) cannot
    occur; the weights take half the space. Returns the number of initializers converted."""
    g = model.graph
    casts = []
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(init)
        with np.errstate(over="ignore"):  # values beyond float16's range stay float32
            exact = a.size >= min_size and np.array_equal(a.astype(np.float16).astype(np.float32), a)
        if not exact:
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(a.astype(np.float16), name + "_fp16"))
        casts.append(helper.make_node("Cast", [name + "_fp16"], [name], to=TensorProto.FLOAT, name="cast_" + name))
    for i, c in enumerate(casts):
        g.node.insert(i, c)
    return len(casts)


def initializer_bytes(model: onnx.ModelProto) -> int:
    return sum(len(t.raw_data) if t.HasField("raw_data") else t.ByteSize() for t in model.graph.initializer)


def save_with_external_data(model: onnx.ModelProto, path: str, shard_bytes: int = EXTERNAL_SHARD_BYTES) -> list[str]:
    """Save `model` as `path` with every initializer of ≥ 1 KiB in external data files beside it:
    `<name>_data`, then `<name>_data.1`, … each at most `shard_bytes` (onnxruntime reads the
    locations from the graph). Returns the file names written besides `path`."""
    base = os.path.basename(path) + "_data"
    folder = os.path.dirname(path)
    files: list[str] = []
    handle = None
    offset = 0
    try:
        for t in model.graph.initializer:
            if not t.HasField("raw_data"):
                t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t), t.name))
            data = t.raw_data
            if len(data) < EXTERNAL_MIN_BYTES:
                continue
            if handle is None or (offset > 0 and offset + len(data) > shard_bytes):
                if handle is not None:
                    handle.close()
                files.append(base if not files else f"{base}.{len(files)}")
                handle = open(os.path.join(folder, files[-1]), "wb")
                offset = 0
            pad = (-offset) % 64  # aligned offsets, as onnx's own writer
            handle.write(b"\0" * pad)
            offset += pad
            handle.write(data)
            del t.external_data[:]
            for k, v in (("location", files[-1]), ("offset", str(offset)), ("length", str(len(data)))):
                entry = t.external_data.add()
                entry.key, entry.value = k, v
            t.data_location = TensorProto.EXTERNAL
            t.ClearField("raw_data")
            offset += len(data)
    finally:
        if handle is not None:
            handle.close()
    onnx.save(model, path)
    return files


def relative_error(found: np.ndarray, expected: np.ndarray) -> float:
    """max |found − expected| / max |expected| (the check's measure; 0 for two zero tensors)."""
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    diff = float(np.max(np.abs(found.astype(np.float64) - expected))) if expected.size else 0.0
    if not np.all(np.isfinite(found)):
        return float("inf")
    return diff / scale if scale > 0 else diff


@dataclass
class GraphReport:
    file: str
    inputs: list
    outputs: list
    max_relative_error: float
    files: list = field(default_factory=list)
    bytes: int = 0
    fp16_initializers: int = 0
    seconds: float = 0.0


def _as_tuple(x: Any) -> tuple:
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return (x,)


def export_graph(
    out_dir: str,
    rel: str,
    module: torch.nn.Module,
    args: Sequence[torch.Tensor],
    inputs: Sequence[str],
    outputs: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
    *,
    fp16: bool,
    external: str = "auto",
    check_args: Sequence[Sequence[torch.Tensor]] | None = None,
    tolerance: float = CHECK_TOLERANCE,
    log: Callable[[str], None] = print,
) -> GraphReport:
    """Export `module(*args)` as `out_dir/rel` and check it against torch.

    The module must already hold its final weights (rounded by `round_to_fp16` when `fp16`).
    `external`: "auto" (external data above 1 GiB of weights), "always" or "never". The check
    runs onnxruntime (CPU) on `args` and on each tuple of `check_args` (e.g. another batch size,
    to exercise the dynamic axes) and requires `relative_error` ≤ `tolerance` for every output.
    """
    if external not in ("auto", "always", "never"):
        raise ExportError(f"--external-data must be auto, always or never, got {external!r}")
    start = time.time()
    path = os.path.join(out_dir, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    module.eval()
    cases = [tuple(args)] + [tuple(c) for c in (check_args or [])]
    with torch.no_grad():
        expected = [[t.detach().numpy().copy() for t in _as_tuple(module(*c))] for c in cases]
        with tempfile.TemporaryDirectory(prefix=".torch-export-", dir=out_dir) as tmp:
            raw = os.path.join(tmp, "model.onnx")
            torch.onnx.export(
                module, tuple(args), raw, input_names=list(inputs), output_names=list(outputs),
                dynamic_axes={k: dict(v) for k, v in dynamic_axes.items()}, opset_version=OPSET,
                do_constant_folding=True,
            )
            model = onnx.load(raw, load_external_data=True)
    converted = fp16_initializers(model) if fp16 else 0
    size = initializer_bytes(model)
    use_external = external == "always" or (external == "auto" and size > EXTERNAL_DATA_THRESHOLD)
    if use_external:
        extra = save_with_external_data(model, path)
    else:
        onnx.save(model, path)
        extra = []
    del model
    onnx.checker.check_model(path)  # by path: works past 2 GiB with external data
    errors = _check_with_onnxruntime(path, inputs, outputs, cases, expected, tolerance)
    report = GraphReport(
        file=rel, inputs=list(inputs), outputs=list(outputs), max_relative_error=max(errors),
        files=[os.path.join(os.path.dirname(rel), f) for f in extra], bytes=size, fp16_initializers=converted,
        seconds=round(time.time() - start, 2),
    )
    log(f"  {rel}: {size / 2**20:.1f} MiB of weights{' (fp16)' if fp16 else ''}"
        f"{' in ' + ', '.join(extra) if extra else ''}; onnxruntime vs torch: max relative error {report.max_relative_error:.2e}")
    return report


def _check_with_onnxruntime(path, inputs, outputs, cases, expected, tolerance) -> list[float]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    errors = []
    for c, want in zip(cases, expected):
        feed = {n: t.detach().numpy() for n, t in zip(inputs, c)}
        got = session.run(list(outputs), feed)
        for name, g, w in zip(outputs, got, want):
            err = relative_error(g, w)
            shape = "x".join(str(d) for d in c[0].shape)
            if g.shape != w.shape or not err <= tolerance:
                raise ExportError(
                    f"{path}: output {name} differs from torch on random inputs ({inputs[0]} {shape}): relative error "
                    f"{err:.3g} (shape {list(g.shape)} vs torch {list(w.shape)}), allowed {tolerance:g}")
            errors.append(err)
    del session
    return errors


# ------------------------------------------------------------------------------ the folder


def write_json(out_dir: str, rel: str, obj: Any) -> None:
    path = os.path.join(out_dir, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj, indent=2) + "\n")


def copy_tokenizer(src: str, out_dir: str) -> None:
    """The four CLIP tokenizer files amdm reads (src/onnx/model-folder.ts TOKENIZER_FILES)."""
    for name in TOKENIZER_FILES:
        require_file(os.path.join(src, name), "CLIP tokenizer file")
    os.makedirs(os.path.join(out_dir, "tokenizer"), exist_ok=True)
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(src, name), os.path.join(out_dir, "tokenizer", name))


def ddim_scheduler_config(config: Mapping[str, Any]) -> dict:
    """The source pipeline's scheduler config as diffusers' `DDIMScheduler.from_config` reads it
    (SD-1.x ships a PNDM config with the same noise schedule); AMDM samples with DDIM."""
    from diffusers import DDIMScheduler

    d = dict(DDIMScheduler.from_config(dict(config)).config)
    d["_class_name"] = "DDIMScheduler"
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def write_folder(out_dir: str, *, manifest: Mapping[str, Any], scheduler: Mapping[str, Any], tokenizer_dir: str,
                 reports: Sequence[GraphReport], source: Mapping[str, Any], fp16: bool) -> None:
    """model_index.json, scheduler/, tokenizer/, amdm.json and export.json (what was exported from
    what, with which tools, and each graph's check against torch)."""
    write_json(out_dir, "model_index.json", MODEL_INDEX)
    write_json(out_dir, "scheduler/scheduler_config.json", scheduler)
    copy_tokenizer(tokenizer_dir, out_dir)
    write_json(out_dir, "amdm.json", manifest)
    import diffusers
    import onnxruntime
    import transformers

    write_json(out_dir, "export.json", {
        "source": dict(source),
        "fp16": fp16,
        "tolerance": CHECK_TOLERANCE,
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__,
                     "transformers": transformers.__version__, "onnx": onnx.__version__,
                     "onnxruntime": onnxruntime.__version__},
        "graphs": [r.__dict__ for r in reports],
    })


@contextlib.contextmanager
def staged_output(out: str) -> Iterator[str]:
    """Yields a fresh hidden folder beside `out`; on success it becomes `out` by one rename, on any
    error it is removed. `out` must not exist or be an empty folder (amdm export, the TypeScript
    command, passes a new staging path and swaps the result in with its own output mechanism)."""
    out = os.path.abspath(out)
    if os.path.exists(out) and not (os.path.isdir(out) and not os.listdir(out)):
        raise ExportError(f"--out: {out} already exists and is not an empty folder; give a new folder")
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out)}.partial-", dir=parent)
    try:
        yield tmp
        if os.path.isdir(out):
            os.rmdir(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def seeded(seed: int = 0) -> Callable[..., torch.Tensor]:
    """A `randn(*shape)` over its own generator, for the random check inputs."""
    g = torch.Generator().manual_seed(seed)
    return lambda *shape: torch.randn(*shape, generator=g)
