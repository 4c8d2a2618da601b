"""One UNet call of a full-size random-weight SD-1.5 UNet: onnxruntime under amdm's session
(bench/unet-call.ts) against torch (diffusers' UNet2DConditionModel, eager, under no_grad), on the
same inputs (batch 2, both guidance halves: a 4×64×64 latent each and 77×768 text states), at each
thread count, side by side.

  .venv/bin/python bench/sd15_unet_call.py --work out/sd15-call [--threads 1,2] [--calls 2] [--rounds 1]

The first run builds the UNet (seed 0, runwayml/stable-diffusion-v1-5's config, as
bench/sd15_unet_export.py), saves it in diffusers' layout (<work>/torch) and exports it with amdm's
exporter (<work>/onnx/unet/model.onnx, fp32 with external data, checked against torch as `amdm
export` does); later runs reuse both (≈ 7 GB on disk). Each (round, threads, side) runs in its own
process: load, one warm-up call, `calls` timed calls; peak RSS is the child's VmHWM. Rounds
interleave the sides. Threads: onnxruntime's intra-op threads against torch.set_num_threads with
OMP_NUM_THREADS / MKL_NUM_THREADS. The two sides' outputs are compared (relative error), so both did
the same work. Output: Markdown on stdout.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))

from python_stack import peak_rss_mib  # noqa: E402
from sd15_unet_export import SD15_UNET  # noqa: E402

SHAPES = {"sample": (2, 4, 64, 64), "encoder_hidden_states": (2, 77, 768)}
TIMESTEP = 601.0


def build(work: Path) -> None:
    """The random UNet in diffusers' layout, its ONNX export and the shared inputs (once)."""
    import numpy as np
    import torch
    from diffusers import UNet2DConditionModel

    from amdm_tools.export.common import STANDARD_UNET_INPUTS, export_graph, seeded
    from amdm_tools.export.sd import UnetGraph, unet_dynamic_axes

    if not (work / "torch" / "config.json").exists():
        torch.manual_seed(0)
        UNet2DConditionModel(**SD15_UNET).eval().save_pretrained(work / "torch")
    if not (work / "onnx" / "unet" / "model.onnx").exists():
        unet = UNet2DConditionModel.from_pretrained(work / "torch").eval()
        rnd = seeded(0)
        args = (rnd(2, 4, 64, 64), torch.tensor(TIMESTEP), rnd(2, 77, 768))
        check = [(rnd(1, 4, 64, 64), torch.tensor(1.0), rnd(1, 77, 768))]
        export_graph(str(work / "onnx"), "unet/model.onnx", UnetGraph(unet), args, list(STANDARD_UNET_INPUTS),
                     ["out_sample"], unet_dynamic_axes(dynamic_size=False), fp16=False, external="auto",
                     check_args=check)
    for name, shape in SHAPES.items():
        f = work / f"{name}.f32"
        if not f.exists():
            np.random.default_rng(1).standard_normal(shape, dtype=np.float32).tofile(f)


def torch_child(work: Path, threads: int, calls: int, save: Path) -> dict:
    """Load, one warm-up call, `calls` timed calls of the torch UNet; the output saved as float32."""
    import numpy as np
    import torch
    from diffusers import UNet2DConditionModel

    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    unet = UNet2DConditionModel.from_pretrained(work / "torch").eval()
    load_s = time.perf_counter() - t0
    inputs = {k: torch.from_numpy(np.fromfile(work / f"{k}.f32", dtype=np.float32).reshape(s)) for k, s in SHAPES.items()}
    times = []
    with torch.no_grad():
        for i in range(calls + 1):
            t = time.perf_counter()
            out = unet(inputs["sample"], torch.tensor(TIMESTEP), encoder_hidden_states=inputs["encoder_hidden_states"]).sample
            if i:
                times.append(time.perf_counter() - t)
    out.numpy().astype(np.float32).tofile(save)
    return {"load_s": load_s, "call_s": times, "peak_rss_mib": peak_rss_mib()}


def run_child(argv: list[str], threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    p = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def side(name: str, work: Path, threads: int, calls: int, save: Path) -> dict:
    if name == "torch":
        argv = [sys.executable, __file__, "--work", str(work), "--child", "--threads", str(threads),
                "--calls", str(calls), "--save", str(save)]
    else:
        argv = ["npx", "tsx", "bench/unet-call.ts", str(work / "onnx" / "unet" / "model.onnx"), "--threads",
                str(threads), "--calls", str(calls), "--warmup", "1", "--inputs", str(work), "--save", str(save)]
    return run_child(argv, threads)


def relative_error(a: Path, b: Path) -> float:
    import numpy as np

    x, y = np.fromfile(a, dtype=np.float32), np.fromfile(b, dtype=np.float32)
    return float(np.abs(x - y).max() / np.abs(y).max())


def parent(a) -> int:
    work = Path(a.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    build(work)
    build_s = time.time() - t0
    threads_list = [int(t) for t in a.threads.split(",")]
    loads = [os.getloadavg()]
    rows: dict[tuple[int, str], list[dict]] = {}
    errors = []
    for r in range(a.rounds):
        for threads in threads_list:
            order = ["onnxruntime", "torch"] if r % 2 == 0 else ["torch", "onnxruntime"]
            for name in order:
                res = side(name, work, threads, a.calls, work / f"out-{name}.f32")
                rows.setdefault((threads, name), []).append(res)
                print(f"round {r + 1}, {threads} threads, {name}: {json.dumps(res)}", file=sys.stderr)
            errors.append(relative_error(work / "out-onnxruntime.f32", work / "out-torch.f32"))
    loads.append(os.getloadavg())
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    import onnxruntime  # noqa: F401  (only for the version line; the timed side is onnxruntime-node)
    import torch

    print(f"One UNet call of a random-weight SD-1.5 UNet (859.5 M parameters), batch 2 × 4×64×64, "
          f"77×768 text; {a.calls} timed calls per child after one warm-up, {a.rounds} round(s); "
          f"build + export {build_s:.0f} s; load average {loads[0][0]:.2f} at start, {loads[-1][0]:.2f} at the end; "
          f"Node {node}, torch {torch.__version__}; {os.cpu_count()} cores\n")
    print("| runtime | threads | load (s) | s / call (median) | ÷ onnxruntime's | peak RSS (MiB) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for threads in threads_list:
        base = statistics.median(t for res in rows[(threads, "onnxruntime")] for t in res["call_s"])
        for name in ["onnxruntime", "torch"]:
            rs = rows[(threads, name)]
            med = statistics.median(t for res in rs for t in res["call_s"])
            label = "onnxruntime-node (amdm's session)" if name == "onnxruntime" else "torch, eager, no_grad"
            print(f"| {label} | {threads} | {statistics.median(x['load_s'] for x in rs):.1f} | {med:.2f} | "
                  f"{med / base:.2f} | {max(x['peak_rss_mib'] for x in rs):.0f} |")
    print(f"\nOutputs, onnxruntime against torch: max relative error {max(errors):.1e} (every pair).")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="out/sd15-call", help="the models and inputs (built on first use)")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    ap.add_argument("--calls", type=int, default=2, help="timed calls per child after one warm-up (default 2)")
    ap.add_argument("--rounds", type=int, default=1, help="rounds, interleaving the sides (default 1)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--save", help=argparse.SUPPRESS)
    a = ap.parse_args()
    for name in ("calls", "rounds"):
        if getattr(a, name) < 1:
            ap.error(f"--{name} must be ≥ 1, got {getattr(a, name)}")
    if a.child:
        print(json.dumps(torch_child(Path(a.work), int(a.threads), a.calls, Path(a.save))))
        return 0
    return parent(a)


if __name__ == "__main__":
    sys.exit(main())
