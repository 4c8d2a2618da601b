"""amdm against the Python reference stack on the CPU: per-image time and peak RSS of

- `amdm generate` with one model (plain DDIM) against diffusers' `StableDiffusionPipeline` +
  `DDIMScheduler` on the same random-weight SD-1.x-layout checkpoint, and
- `amdm generate` with two models (AMDM, paper preset) against the repository's independent
  Python Algorithm 1 (`amdm_tools.reference.algorithm1` over diffusers' UNets and DDIMScheduler)
  on the same two checkpoints and settings,

at the same thread counts (onnxruntime intra-op threads = the job's `threads`; torch.set_num_threads
and OMP_NUM_THREADS on the Python side).

What one timed image is, on each side (the same work; models loaded and one warm-up image before):
- amdm: `runJob` of the job file through a pipeline kept across runs (bench/generate-per-image.ts):
  the job's checks, text encoding (every model's prompt and the negative prompt), the initial
  noise (`"noise": "torch"`), sampling, VAE decoding, PNG encoding.
- diffusers: one `pipe(prompt, negative_prompt=…, output_type="pil")` call (text encoding, the
  initial noise from a seeded CPU generator, sampling, VAE decoding, post-processing) and the PNG
  encoding of its image.
- Python Algorithm 1: `encode_prompts` for every model, torch.randn per model (seed + k, as amdm's
  `"noise": "torch"`), `algorithm1`, the VAE decoding of StableDiffusionPipeline
  (parity.decode_like_diffusers) and the PNG encoding, under torch.no_grad.
Not timed on either side: process start-up, imports, loading the folders.

The checkpoints (python/tests/tiny_sd.py) are built once into a temporary folder and exported with
`amdm export sd`'s exporter. Each (round, model size, threads, method) runs in its own process, so
its peak RSS (VmHWM; bench/peak-rss.ts says why not ru_maxrss) is its own; rounds alternate the methods so
that a busy spell of a shared machine hits them alike. The images are checked to agree (latents
within the parity tests' 1e-3 relative, pixels within 2/255): both stacks do the same work.

Needs the CLIP tokenizer files of the test data (AMDM_TEST_DATA, else ../shared/data beside the
checkout, as the Python tests find them) and node_modules (npm ci).

Run: `.venv/bin/python bench/python_stack.py [--rounds 3] [--reps 3] [--threads 1,2] [--sizes tiny,wide]`
(`--smoke`: one round of a 3-step tiny run that only checks the whole path). Output: Markdown.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python"), str(ROOT / "python" / "tests")]

# model sizes: UNet block widths, text width, latent side (image = 8×), T and s (s/T = 0.4, the paper's 20/50)
SIZES = {
    "tiny": {"channels": [16, 16, 32, 32], "text_width": 32, "latent": 8, "steps": 50, "aggregate": 20},
    "wide": {"channels": [64, 128, 256, 256], "text_width": 128, "latent": 16, "steps": 20, "aggregate": 8},
}
SMOKE = {"steps": 3, "aggregate": 2}
PROMPTS = ["a red cube on a table", "a blue sphere in the grass"]
NEGATIVE = "blurry"
GUIDANCE, SEED, WEIGHT, ETA = 7.5, 11, 0.5, 0.3  # AMDM_DEFAULTS' guidance, w and η (η·√d)
# (key, models, label); an amdm row and the Python row timed against it share the model count
METHODS = [
    ("amdm", 1, "amdm generate, 1 model (DDIM)"),
    ("diffusers", 1, "diffusers StableDiffusionPipeline + DDIMScheduler"),
    ("amdm", 2, "amdm generate, AMDM with 2 models"),
    ("algorithm1", 2, "Python Algorithm 1 (amdm_tools.reference), 2 models"),
]


def peak_rss_mib() -> float:
    """VmHWM of /proc/self/status (Linux), else ru_maxrss: Linux carries a parent's peak into a child
    across fork and exec, so ru_maxrss of a child of this (bigger) process is at least the parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------- the Python side (a child process)

def diffusers_image(pipe, spec: dict):
    """One image of StableDiffusionPipeline + DDIMScheduler: (final latents, RGB), PNG encoded."""
    import numpy as np
    import torch
    from diffusers import DDIMScheduler

    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    side = 8 * spec["latent"]

    def image():
        last = {}

        def keep(_pipe, _i, _t, kwargs):  # the final latents, for the agreement check
            last["latents"] = kwargs["latents"]
            return kwargs

        out = pipe(PROMPTS[0], negative_prompt=NEGATIVE, num_inference_steps=spec["steps"], guidance_scale=GUIDANCE,
                   generator=torch.Generator().manual_seed(SEED), height=side, width=side, output_type="pil",
                   callback_on_step_end=keep)
        rgb = np.asarray(out.images[0].convert("RGB"))
        encode_png(rgb)
        return last["latents"], rgb

    return image


def algorithm1_image(pipes: list, spec: dict):
    """One image of the Python Algorithm 1 over the pipelines' UNets: (final latents, RGB), PNG encoded."""
    import torch
    from diffusers import DDIMScheduler

    from amdm_tools.reference import GuidedModel, algorithm1, encode_prompts
    from parity import decode_like_diffusers

    scheduler = DDIMScheduler.from_config(pipes[0].scheduler.config)
    n, side = len(pipes), spec["latent"]

    @torch.no_grad()
    def image():
        models = [GuidedModel(p.unet, encode_prompts(p, PROMPTS[k], NEGATIVE), GUIDANCE) for k, p in enumerate(pipes)]
        # amdm's "noise": "torch": model k's latents from manual_seed(seed + k)
        noise = [torch.randn((1, 4, side, side), generator=torch.Generator().manual_seed(SEED + k)) for k in range(n)]
        x = algorithm1(models, scheduler, noise, steps=spec["steps"], aggregate_steps=spec["aggregate"],
                       weights=[WEIGHT] * (n - 1), eta=[ETA] * n)
        rgb = decode_like_diffusers(pipes[0].vae, x)
        encode_png(rgb)
        return x, rgb

    return image


def encode_png(rgb) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def python_child(spec: dict, threads: int, reps: int, save: Path | None) -> dict:
    """Loads the pipelines, makes one warm-up image, times `reps` images."""
    import numpy as np
    import torch
    from diffusers import StableDiffusionPipeline
    from PIL import Image

    torch.set_num_threads(threads)
    pipes = [StableDiffusionPipeline.from_pretrained(f, safety_checker=None, requires_safety_checker=False)
             for f in spec["folders"]]
    image = diffusers_image(pipes[0], spec) if spec["method"] == "diffusers" else algorithm1_image(pipes, spec)
    image()  # warm-up
    wall, cpu = [], []
    for _ in range(reps):
        c0, t0 = time.process_time(), time.perf_counter()
        latents, rgb = image()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    if save is not None:
        np.save(save / "latents.npy", latents.numpy())
        Image.fromarray(rgb).save(save / "target.png")
    return {"wall": wall, "cpu": cpu, "rssMiB": peak_rss_mib(), "threads": threads}


# ---------------------------------------------------------------- the parent

def test_data_root() -> Path:
    from conftest import data_root

    return data_root()


def build_models(work: Path, sizes: list[str], tokenizer: Path) -> dict:
    """Per size: two random-weight diffusers folders (seeds 1, 2) and their amdm exports."""
    from amdm_tools.export.__main__ import main as export_main
    from tiny_sd import write_tiny_sd

    built = {}
    for size in sizes:
        cfg = SIZES[size]
        diffusers, onnx = [], []
        for k in range(2):
            src = write_tiny_sd(work / size / f"diffusers-{k}", tokenizer, text_width=cfg["text_width"], seed=k + 1,
                                unet_channels=tuple(cfg["channels"]), sample_size=cfg["latent"])
            out = work / size / f"onnx-{k}"
            print(f"[python_stack] exporting {size} model {k}", file=sys.stderr, flush=True)
            with contextlib.redirect_stdout(sys.stderr):  # the exporter's report: stdout is the Markdown
                rc = export_main(["sd", "--from", str(src), "--out", str(out)])
            if rc != 0:
                raise SystemExit(f"amdm export sd failed for {src} (exit {rc})")
            diffusers.append(str(src))
            onnx.append(str(out))
        built[size] = {"diffusers": diffusers, "onnx": onnx}
    return built


def amdm_job(size: dict, onnx: list[str], n: int, out: Path) -> dict:
    side = 8 * size["latent"]
    job = {"prompt": PROMPTS[0], "negativePrompt": NEGATIVE, "steps": size["steps"], "guidance": GUIDANCE,
           "seed": SEED, "noise": "torch", "height": side, "width": side, "output": str(out),
           "models": [{"folder": onnx[k], "name": f"m{k}", "prompt": PROMPTS[k]} for k in range(n)]}
    if n > 1:
        job.update({"aggregateSteps": size["aggregate"], "weights": WEIGHT, "eta": ETA})
    return job


def run_child(argv: list[str], env: dict | None = None) -> dict:
    p = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"child {' '.join(argv)} exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def run_method(method: str, n: int, ctx: dict, threads: int, save: Path) -> dict:
    save.mkdir(parents=True)
    size, built, work = ctx["size"], ctx["built"], ctx["work"]
    if method == "amdm":
        job = work / f"job-{ctx['name']}-{n}.json"
        job.write_text(json.dumps(amdm_job(size, built["onnx"], n, work / "unused-output")))
        argv = [ctx["node"], "--import", "tsx", "bench/generate-per-image.ts", str(job), "--threads", str(threads),
                "--reps", str(ctx["reps"]), "--save", str(save)]
        return run_child(argv)
    spec = {"method": method, "folders": built["diffusers"][:n], **size}
    spec_file = work / f"spec-{ctx['name']}-{method}.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    argv = [sys.executable, __file__, "--child", str(spec_file), "--threads", str(threads), "--reps", str(ctx["reps"]),
            "--save", str(save)]
    return run_child(argv, env)


def agreement(ours: Path, theirs: Path) -> tuple[float, int]:
    import numpy as np
    from PIL import Image

    from parity import max_pixel_difference, relative_error

    rgb = lambda p: np.asarray(Image.open(p / "target.png").convert("RGB"))  # noqa: E731
    err = relative_error(np.load(ours / "latents.npy"), np.load(theirs / "latents.npy"))
    return err, max_pixel_difference(rgb(ours), rgb(theirs))


def load_text() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def run_rounds(plan: dict, built: dict, work: Path, node: str, loads: list[str]):
    """Every (round, size, threads, method) in its own child, methods alternating; after each set of
    four, the amdm images against the Python ones. Returns (results, agreement, disagreements)."""
    from parity import IMAGE_TOLERANCE, LATENT_TOLERANCE

    results: dict[tuple, list] = {}  # (size, threads, method index) → per-round child results
    agree: dict[tuple, list] = {}
    bad = []
    for r in range(plan["rounds"]):
        loads.append(f"round {r + 1} start {load_text()}")
        for size_name in plan["sizes"]:
            size = {**SIZES[size_name], **(SMOKE if plan["smoke"] else {})}
            ctx = {"name": size_name, "size": size, "built": built[size_name], "work": work, "reps": plan["reps"],
                   "node": node}
            for threads in plan["threads"]:
                saves = []
                for m, (method, n, label) in enumerate(METHODS):
                    save = work / "out" / f"{size_name}-t{threads}-r{r}-{m}"
                    res = run_method(method, n, ctx, threads, save)
                    results.setdefault((size_name, threads, m), []).append(res)
                    saves.append(save)
                    print(f"[python_stack] round {r + 1} {size_name} threads {threads}: {label}: "
                          f"{statistics.median(res['wall']):.3f} s / image, peak RSS {res['rssMiB']:.0f} MiB "
                          f"(load {load_text()})", file=sys.stderr, flush=True)
                for pair, (a, b) in {"1 model": (0, 1), "2 models": (2, 3)}.items():
                    err, px = agreement(saves[a], saves[b])
                    agree.setdefault((size_name, pair), []).append((err, px))
                    if err > LATENT_TOLERANCE or px > IMAGE_TOLERANCE:
                        bad.append(f"{size_name} {pair} threads {threads} round {r + 1}: latents {err:.2e}, pixels {px}")
    return results, agree, bad


def parent(args) -> int:
    tokenizer = test_data_root() / "clip-tokenizer"
    if not (tokenizer / "vocab.json").is_file():
        print(f"python_stack: the CLIP tokenizer files are missing: {tokenizer}. Set AMDM_TEST_DATA to the test-data "
              f"folder (default: ../shared/data beside the checkout).", file=sys.stderr)
        return 2
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "tsx").is_dir():
        print("python_stack: needs node on PATH and node_modules (run npm ci)", file=sys.stderr)
        return 2
    sizes = ["tiny"] if args.smoke else args.sizes.split(",")
    threads_list = [1] if args.smoke else [int(t) for t in args.threads.split(",")]
    rounds, reps = (1, 1) if args.smoke else (args.rounds, args.reps)
    for s in sizes:
        if s not in SIZES:
            print(f"python_stack: --sizes: unknown size {s!r}; sizes: {', '.join(SIZES)}", file=sys.stderr)
            return 2
    t_start = time.time()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # as an exception: the temporary folder goes
    work = Path(tempfile.mkdtemp(prefix="python-stack-"))
    try:
        built = build_models(work, sizes, tokenizer)
        loads = [f"after building the models {load_text()}"]
        plan = {"sizes": sizes, "threads": threads_list, "rounds": rounds, "reps": reps, "smoke": args.smoke}
        results, agree, bad = run_rounds(plan, built, work, node, loads)
        loads.append(f"end {load_text()}")
        report(args, sizes, threads_list, results, agree, loads, time.time() - t_start)
        if args.json:
            raw = {"loads": loads, "children": [{"size": k[0], "threads": k[1], "method": METHODS[k[2]][2], "rounds": v}
                                                for k, v in results.items()]}
            Path(args.json).write_text(json.dumps(raw, indent=1))
        if bad:
            print("python_stack: the stacks' images disagree beyond the parity tolerance:\n  " + "\n  ".join(bad),
                  file=sys.stderr)
            return 1
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(args, sizes, threads_list, results, agree, loads, wall_s: float) -> None:
    import torch

    node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"## amdm against the Python reference stack ({'smoke run, numbers mean nothing; ' if args.smoke else ''}"
          f"{args.reps if not args.smoke else 1} images per child after one warm-up, "
          f"{args.rounds if not args.smoke else 1} interleaved rounds, median over rounds)\n")
    print(f"{os.cpu_count()} cores, {cpu}; Node {node_version}, Python {platform.python_version()}, torch {torch.__version__}. "
          f"Load average (1 / 5 / 15 min): {'; '.join(loads)}. Bench wall {wall_s:.0f} s.\n")
    for s in sizes:
        c = {**SIZES[s], **(SMOKE if args.smoke else {})}
        print(f"- **{s}**: UNet block widths {tuple(c['channels'])}, text width {c['text_width']}, latent 4×{c['latent']}×"
              f"{c['latent']} ({8 * c['latent']}² images), T = {c['steps']}, AMDM s = {c['aggregate']}, w = {WEIGHT}, "
              f"η = {ETA}·√d, CFG {GUIDANCE}")
    print()
    print("| model | method | threads | s / image | time ÷ amdm's | CPU s / image | CPU ÷ amdm's | peak RSS (MiB) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for s in sizes:
        for threads in threads_list:
            for m, (_method, n, label) in enumerate(METHODS):
                rows = results[(s, threads, m)]
                base = results[(s, threads, 0 if n == 1 else 2)]
                cells = []
                for key in ("wall", "cpu"):
                    per_round = [statistics.median(x[key]) for x in rows]
                    # the ratio in each round (side by side), then the median over rounds
                    ratio = [v / statistics.median(b[key]) for v, b in zip(per_round, base)]
                    cells += [f"{statistics.median(per_round):.3f}", f"{statistics.median(ratio):.2f}"]
                rss = statistics.median(x["rssMiB"] for x in rows)
                print(f"| {s} | {label} | {threads} | {' | '.join(cells)} | {rss:.0f} |")
    print()
    print("Agreement of the images (amdm against the Python row it is timed with, every round and thread count): ")
    for (s, pair), xs in agree.items():
        print(f"- {s}, {pair}: latents max relative error ≤ {max(e for e, _ in xs):.1e}, "
              f"pixels ≤ {max(p for _, p in xs)}/255")


def main() -> int:
    p = argparse.ArgumentParser(prog="bench/python_stack.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--reps", type=int, default=3, help="timed images per child after one warm-up (default 3)")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--sizes", default="tiny,wide", help=f"comma-separated model sizes of {', '.join(SIZES)} (default both)")
    p.add_argument("--json", help="also write every child's figures (per image, per round) to this file")
    p.add_argument("--smoke", action="store_true", help="one round, tiny, 3 steps, 1 thread: checks the path only")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--save", help=argparse.SUPPRESS)
    args = p.parse_args()
    for name in ("rounds", "reps"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be ≥ 1, got {getattr(args, name)}")
    if not args.smoke:
        for t in args.threads.split(","):
            if not t.isdigit() or int(t) < 1:
                p.error(f"--threads must be comma-separated integers ≥ 1, got {args.threads!r}")
    if args.child:
        spec = json.loads(Path(args.child).read_text())
        out = python_child(spec, int(args.threads), args.reps, Path(args.save) if args.save else None)
        print(json.dumps(out))
        return 0
    return parent(args)


if __name__ == "__main__":
    sys.exit(main())
