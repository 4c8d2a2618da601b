"""Helpers shared by the exporter tests: running an exported graph and `amdm generate`."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import torch

from tiny_checkpoints import REPO, LATENT


def run_onnx(path: Path, feeds: dict) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in feeds.items()})[0]


def rel_err(got, want) -> float:
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else want
    return float(np.abs(got - want).max() / np.abs(want).max())


def generate(job: dict, tmp: Path) -> Path:
    """Run `npx tsx src/cli/main.ts generate` on `job` (a 64² image: latent 8); returns the output folder."""
    out = tmp / "generated"
    job = {"negativePrompt": "", "steps": 3, "guidance": 5, "seed": 1, "device": "cpu", "height": LATENT * 8,
           "width": LATENT * 8, "output": str(out), **job}
    path = tmp / "job.json"
    path.write_text(json.dumps(job))
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    r = subprocess.run(["npx", "tsx", "src/cli/main.ts", "generate", str(path), "--no-progress"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"amdm generate failed:\n{r.stdout}\n{r.stderr}"
    return out
