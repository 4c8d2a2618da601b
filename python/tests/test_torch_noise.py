"""`"noise": "torch"`: amdm's torchRandn (src/core/torch-rng.ts) against the real torch.randn under
torch.Generator().manual_seed(seed), for the shapes a job draws (both of ATen's code paths: fewer
than 16 values, and the 16-value blocks with a tail)."""
from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import torch

from conftest import ROOT, amdm

CASES = [(0, [1, 4, 8, 8]), (7, [2, 4, 8, 8]), (123456789, [1, 4, 64, 64]), (2**32 + 5, [3, 5, 7]), (3, [5])]


@pytest.fixture(scope="module")
def amdm_values():
    script = (
        "import { torchRandn } from './src/core/torch-rng.ts';"
        f"const cases = {json.dumps([[str(s), shape] for s, shape in CASES])};"
        "console.log(JSON.stringify(cases.map(([s, shape]) => Array.from(torchRandn(BigInt(s), shape)))));"
    )
    return json.loads(amdm_eval(script))


def amdm_eval(script: str) -> str:
    r = subprocess.run([str(ROOT / "node_modules" / ".bin" / "tsx"), "--eval", script], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.parametrize("i", range(len(CASES)))
def test_torch_randn_stream(amdm_values, i):
    seed, shape = CASES[i]
    expected = torch.randn(shape, generator=torch.Generator().manual_seed(seed)).flatten().numpy()
    found = np.asarray(amdm_values[i], dtype=np.float32)
    assert found.shape == expected.shape
    np.testing.assert_allclose(found, expected, rtol=0, atol=1e-5)


def test_a_job_with_an_unknown_noise_is_refused(tmp_path):
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"prompt": "x", "models": [{"folder": str(tmp_path)}], "noise": "numpy"}))
    r = amdm("generate", str(job), check=False)
    assert r.returncode != 0
    assert "noise" in r.stderr and "torch" in r.stderr
