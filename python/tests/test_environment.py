"""The environment matches python/requirements.lock exactly (scripts/setup-python.sh installs it with
--no-deps), and torch's CPU generator gives the stream that amdm's torch-compatible noise reproduces."""

from importlib import metadata
from pathlib import Path

import torch

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"


def locked_versions() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_installed_versions_equal_the_lock():
    installed = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in metadata.distributions()}
    for name, version in locked_versions().items():
        assert installed.get(name) == version, f"{name}: installed {installed.get(name)}, locked {version}"


def test_torch_randn_seed_0_is_the_published_stream():
    # The values amdm's torchRandn (src/core/torch-rng.ts) is tested against.
    x = torch.randn(6, generator=torch.Generator().manual_seed(0))
    expected = torch.tensor([1.5410, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986])
    assert torch.allclose(x, expected, atol=1e-4)
