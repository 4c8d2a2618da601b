"""Shared fixtures: the test-data folder (as test/helpers/data.ts finds it: AMDM_TEST_DATA, absolute
or relative to the project root, default ../shared/data beside the checkout; a test that needs a
missing file is skipped with the reason, and fails under CI), the project root and the amdm CLI."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def in_ci() -> bool:
    ci = os.environ.get("CI")
    return ci is not None and ci not in ("", "0") and ci.lower() != "false"


def data_root() -> Path:
    env = os.environ.get("AMDM_TEST_DATA")
    if env:
        p = Path(env)
        return p if p.is_absolute() else ROOT / p
    return ROOT.parent / "shared" / "data"


def require_data(rel: str) -> Path:
    p = data_root() / rel
    if not p.exists():
        reason = (f"test data missing: {p}. Set AMDM_TEST_DATA to the test-data folder "
                  f"(default: ../shared/data beside the checkout)")
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return p


@pytest.fixture(scope="session")
def clip_tokenizer_dir() -> Path:
    return require_data("clip-tokenizer")


def amdm(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    """Runs the TypeScript CLI (`npx tsx src/cli/main.ts …`) from the project root."""
    tsx = ROOT / "node_modules" / ".bin" / "tsx"
    if not tsx.exists():
        msg = f"{tsx} is missing: run npm ci"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)
    r = subprocess.run([str(tsx), "src/cli/main.ts", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"amdm {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory, clip_tokenizer_dir) -> Path:
    """A random-weight SD-1.x pipeline in diffusers' folder layout (tiny_sd.py)."""
    from tiny_sd import write_tiny_sd

    return write_tiny_sd(tmp_path_factory.mktemp("tiny-sd") / "diffusers", clip_tokenizer_dir, seed=3)


@pytest.fixture(scope="session")
def tiny_sd_onnx(tmp_path_factory, tiny_sd) -> Path:
    """`tiny_sd` exported by `amdm export sd`."""
    out = tmp_path_factory.mktemp("tiny-sd-onnx") / "onnx"
    amdm("export", "sd", "--from", str(tiny_sd), "--out", str(out))
    return out
