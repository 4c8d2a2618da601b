"""bench/python_stack.py in its --smoke mode (3 steps, one round): the whole path runs (models built
and exported, amdm and the Python stack timed in their own processes) and the stacks' images agree
(it exits 1 when they do not); the table has the four rows with a peak RSS each."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import ROOT


def test_python_stack_smoke(clip_tokenizer_dir):
    env = {**os.environ, "AMDM_TEST_DATA": str(clip_tokenizer_dir.parent)}
    r = subprocess.run([sys.executable, "bench/python_stack.py", "--smoke"], cwd=ROOT, capture_output=True, text=True,
                       timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if line.startswith("| tiny |")]
    assert len(rows) == 4, r.stdout
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert float(cells[3]) > 0 and float(cells[7]) > 0, row  # s / image, peak RSS
    assert re.search(r"tiny, 2 models: latents max relative error", r.stdout)


def test_python_stack_help_starts_no_work():
    r = subprocess.run([sys.executable, "bench/python_stack.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("usage: bench/python_stack.py"), r.stderr
