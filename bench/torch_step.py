"""The per-step AMDM math in PyTorch (CPU, float32), timed for comparison with bench/core-step.ts.

One aggregated step of Algorithm 1 for N models with deterministic DDIM (eta_ddim = 0):
  1. DDIM step mean per model (paper eq. 4/6, closed form):   mu_k = A * x_k + B * eps_k
  2. fold of the rule over the means, target first (eq. 8):   x' = rule(...rule(mu_0, mu_1, w)..., mu_N-1, w)
     slerp: theta = arccos(<a, b> / (|a| |b|)) per sample (normalized dot), lerp below 1e-4 rad;
     lerp: (1 - w) a + w b;  nlerp: lerp rescaled to (1 - w)|a| + w|b|;  vp: sqrt(1 - w^2) a + w b
  3. deviation optimization (eq. 9), per-sample norms:        x_k = x' - eta (x' - mu_k) / |x' - mu_k|
Every tensor is preallocated once and written with out= / in-place ops, as the TypeScript core
does; per-sample reductions (norms, dots) are float32 torch reductions.

Prints one JSON object on stdout: the torch version, the thread counts, and per configuration the
median ns per element, wall clock ("wall") and process CPU time ("cpu"); element = one latent value
of one model per step for "step", one value of the B x d output for a single kernel call.

Usage: /usr/bin/python3 bench/torch_step.py --shape 4,64,64 --models 2,3 --batches 1,8 \
         --rules slerp,lerp,nlerp,vp --steps 20 --reps 5 --warmup 2 --threads 1,2
"""

import argparse
import json
import math
import os
import statistics
import time

import torch


def ints(s):
    return [int(v) for v in s.split(",") if v]


def sd15_coefficients(steps):
    """(A, B) of each DDIM step for SD 1.x: scaled_linear betas 0.00085..0.012 over 1000 training
    steps, 'leading' spacing with offset 1, prev = t - 1000 // steps, alpha_bar_prev = alpha_bar_0
    below 0 (diffusers DDIMScheduler, set_alpha_to_one = False). A = sqrt(ab_prev / ab_t),
    B = sqrt(1 - ab_prev) - sqrt(ab_prev) sqrt(1 - ab_t) / sqrt(ab_t)."""
    n = 1000
    lo, hi = math.sqrt(0.00085), math.sqrt(0.012)
    ab, acc = [], 1.0
    for i in range(n):
        beta = (lo + (hi - lo) * i / (n - 1)) ** 2
        acc *= 1.0 - beta
        ab.append(acc)
    ratio = n // steps
    ts = [i * ratio + 1 for i in range(steps)][::-1]
    out = []
    for t in ts:
        a = ab[t]
        p = ab[t - ratio] if t - ratio >= 0 else ab[0]
        out.append((math.sqrt(p / a), math.sqrt(1 - p) - math.sqrt(p) * math.sqrt(1 - a) / math.sqrt(a)))
    return out


class Buffers:
    """Scratch tensors of one (B, d) shape, allocated once."""

    def __init__(self, batch, dim):
        self.na = torch.empty(batch)
        self.nb = torch.empty(batch)
        self.dot = torch.empty(batch, 1, 1)
        self.tmp = torch.empty(batch, dim)


def ddim_(x, eps, A, B, mu):
    """Eq. 4/6 with eta_ddim = 0: mu = A x + B eps."""
    torch.mul(x, A, out=mu)
    mu.add_(eps, alpha=B)


def slerp_(a, b, w, out, buf):
    """Eq. 8 per sample; `out` may be `a`."""
    torch.linalg.vector_norm(a, dim=1, out=buf.na)
    torch.linalg.vector_norm(b, dim=1, out=buf.nb)
    torch.bmm(a.unsqueeze(1), b.unsqueeze(2), out=buf.dot)  # per-sample <a, b>
    cos = (buf.dot.view(-1) / (buf.na * buf.nb)).clamp_(-1.0, 1.0)
    theta = torch.acos(cos)
    st = torch.sin(theta)
    small = theta < 1e-4
    ca = torch.where(small, torch.full_like(theta, 1.0 - w), torch.sin((1.0 - w) * theta) / st)
    cb = torch.where(small, torch.full_like(theta, w), torch.sin(w * theta) / st)
    torch.mul(a, ca.unsqueeze(1), out=out)
    out.addcmul_(b, cb.unsqueeze(1))


def lerp_(a, b, w, out, buf):
    torch.lerp(a, b, w, out=out)


def nlerp_(a, b, w, out, buf):
    torch.linalg.vector_norm(a, dim=1, out=buf.na)
    torch.linalg.vector_norm(b, dim=1, out=buf.nb)
    target = (1.0 - w) * buf.na + w * buf.nb
    torch.lerp(a, b, w, out=out)
    k = target / torch.linalg.vector_norm(out, dim=1)
    out.mul_(k.unsqueeze(1))


def vp_(a, b, w, out, buf):
    torch.mul(a, math.sqrt(1.0 - w * w), out=out)
    out.add_(b, alpha=w)


RULES = {"slerp": slerp_, "lerp": lerp_, "nlerp": nlerp_, "vp": vp_}


def deviate_(mixed, mu, eta, out, buf):
    """Eq. 9 per sample: out = x' - eta (x' - mu) / |x' - mu| (unchanged where the distance is 0)."""
    torch.sub(mixed, mu, out=buf.tmp)
    torch.linalg.vector_norm(buf.tmp, dim=1, out=buf.na)
    k = torch.where(buf.na > 0, eta / buf.na, torch.zeros_like(buf.na))
    torch.addcmul(mixed, buf.tmp, k.unsqueeze(1), value=-1.0, out=out)


def median_ns(fn, calls, reps, warmup):
    """(wall, cpu) medians in ns per call; cpu = this process's CPU time (all threads), which a
    busy machine disturbs less than the wall clock."""
    for _ in range(warmup):
        for _ in range(calls):
            fn()
    wall, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        for _ in range(calls):
            fn()
        wall.append((time.perf_counter_ns() - t0) / calls)
        cpu.append((time.process_time_ns() - c0) / calls)
    return statistics.median(wall), statistics.median(cpu)


def calls_for(fn, min_ns):
    """How many calls make one timed sample last at least min_ns."""
    t0 = time.perf_counter_ns()
    fn()
    one = max(time.perf_counter_ns() - t0, 1)
    return max(1, math.ceil(min_ns / one))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", default="4,64,64")
    ap.add_argument("--models", default="2,3")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--rules", default="slerp,lerp,nlerp,vp")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", default="1,%d" % (os.cpu_count() or 1))
    ap.add_argument("--eta", type=float, default=0.3)
    ap.add_argument("--weight", type=float, default=0.5)
    ap.add_argument("--kernel-ms", type=float, default=10.0)
    args = ap.parse_args()

    shape, models, batches = ints(args.shape), ints(args.models), ints(args.batches)
    rules = [r for r in args.rules.split(",") if r]
    for r in rules:
        if r not in RULES:
            raise SystemExit("--rules must be a subset of %s, got %r" % (",".join(RULES), r))
    if args.steps < 1 or args.reps < 1 or args.warmup < 0:
        raise SystemExit("--steps and --reps must be >= 1 and --warmup >= 0")
    dim = math.prod(shape)
    eta = args.eta * math.sqrt(dim)  # etaScale 'sqrtDim', as the TypeScript sampler's default
    w = args.weight
    coeffs = sd15_coefficients(args.steps)
    threads = sorted(set(ints(args.threads)))
    torch.manual_seed(0)
    results = []
    for nt in threads:
        torch.set_num_threads(nt)
        for batch in batches:
            buf = Buffers(batch, dim)
            a, b = torch.randn(batch, dim), torch.randn(batch, dim)
            out = torch.empty(batch, dim)
            elems = batch * dim
            kmin = args.kernel_ms * 1e6
            A, B = coeffs[len(coeffs) // 2]
            kernels = {"ddim": lambda: ddim_(a, b, A, B, out), "deviate": lambda: deviate_(a, b, eta, out, buf)}
            for r in rules:
                kernels[r] = (lambda f: lambda: f(a, b, w, out, buf))(RULES[r])
            for name, fn in kernels.items():
                wall, cpu = median_ns(fn, calls_for(fn, kmin), args.reps, args.warmup)
                results.append({"kind": "kernel", "kernel": name, "threads": torch.get_num_threads(), "B": batch,
                                "wall": wall / elems, "cpu": cpu / elems})
            for n_models in models:
                xs = [torch.randn(batch, dim) for _ in range(n_models)]
                eps = [torch.randn(batch, dim) for _ in range(n_models)]
                mus = [torch.empty(batch, dim) for _ in range(n_models)]
                mixed = torch.empty(batch, dim)
                for r in rules:
                    rule = RULES[r]

                    def run_steps():
                        for A, B in coeffs:
                            for k in range(n_models):
                                ddim_(xs[k], eps[k], A, B, mus[k])
                            mixed.copy_(mus[0])
                            for k in range(1, n_models):
                                rule(mixed, mus[k], w, mixed, buf)
                            for k in range(n_models):
                                deviate_(mixed, mus[k], eta, xs[k], buf)

                    wall, cpu = median_ns(run_steps, 1, args.reps, args.warmup)
                    per = args.steps * n_models * elems
                    results.append({"kind": "step", "rule": r, "N": n_models, "threads": torch.get_num_threads(), "B": batch,
                                    "wall": wall / per, "cpu": cpu / per})
    print(json.dumps({
        "torch": torch.__version__,
        "threads": threads,
        "shape": shape,
        "steps": args.steps,
        "reps": args.reps,
        "results": results,
    }))


if __name__ == "__main__":
    main()
