"""python -m amdm_tools.export <family> --from <checkpoint> --out <folder> [--fp16] [--base <folder>] …

Writes an ONNX model folder that meets docs/models.md from a real checkpoint (`amdm export`, the
TypeScript command, runs this in .venv). Families are modules of this package, each exposing

    add_arguments(parser)   its own options (besides --from, --out, --fp16, --base, --external-data)
    export(args)            writes the whole folder into args.folder

`args.folder` is a fresh staging folder beside --out; it becomes --out only when the family's
export returned (every graph checked against torch), so a failed export leaves nothing behind.
Errors about the input (`ExportError`) are printed as one line naming the file, key or shape
found and what was expected, with exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import time
import warnings

from .common import ExportError, staged_output

# family → module (imported only when asked for)
FAMILIES = {
    "sd": "amdm_tools.export.sd",
    "ipadapter": "amdm_tools.export.ipadapter",
    "interactdiffusion": "amdm_tools.export.interactdiffusion",
    "migc": "amdm_tools.export.migc",
}


def family_module(name: str):
    try:
        return importlib.import_module(FAMILIES[name])
    except ModuleNotFoundError as e:
        if e.name == FAMILIES[name]:
            raise ExportError(f"family {name!r} has no exporter in this version of amdm") from None
        raise


def build_parser(family: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"amdm export {family}", description=f"export a {family} checkpoint to an amdm model folder")
    p.add_argument("--from", dest="source", required=True, help="the checkpoint (file or folder, see docs/real-models.md)")
    p.add_argument("--out", required=True, help="the model folder to write (must not exist or be empty)")
    p.add_argument("--fp16", action="store_true",
                   help="store weights as float16 (inputs, outputs and arithmetic stay float32)")
    p.add_argument("--base", help="the diffusers SD-1.x folder the adapter applies to (families that need one)")
    p.add_argument("--external-data", choices=["auto", "always", "never"], default="auto",
                   help="weights in model.onnx_data beside each graph: auto (above 1 GiB), always or never")
    family_module(family).add_arguments(p)
    return p


def quiet_libraries() -> None:
    """The tracer's and the libraries' warnings about shapes fixed at export are expected here."""
    import torch
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in FAMILIES:
        given = repr(argv[0]) if argv else "none"
        print(f"amdm export: the first argument must be a family: {', '.join(FAMILIES)}; got {given}", file=sys.stderr)
        return 2
    family = argv[0]
    quiet_libraries()
    # SIGTERM as an exception, so the staging folder is removed as on Ctrl-C
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        args = build_parser(family).parse_args(argv[1:])
        start = time.time()
        with staged_output(args.out) as folder:
            args.folder = folder
            family_module(family).export(args)
        print(f"export {family}{' --fp16' if args.fp16 else ''}: every graph checked against torch, {time.time() - start:.1f} s")
        return 0
    except ExportError as e:
        print(f"amdm export {family}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
