"""An independent Python AMDM over diffusers pipelines, written from the paper (Yue et al., arXiv
2410.01262, Algorithm 1) and from the official code's loop (Hammour-steak/AMDM@dba837a,
interactmigc.py / interactmigcip.py), for checking amdm's TypeScript samplers latent for latent.

Each model is a `GuidedModel`: a diffusers UNet with its prompt embeddings bound, whose ε is the
classifier-free guided ε of diffusers' StableDiffusionPipeline (ε_u + g(ε_c − ε_u), both halves in
one batch). The DDIM step is diffusers' own `DDIMScheduler.step` (η = 0).

`algorithm1`: for i < s every model k takes its DDIM step to yₖ (= its step mean μₖ, η = 0); the
proposals are merged by a fold of slerp (eq. 8), target first, wⱼ the weight of the other model;
then each model continues from x′ − ηₖ·(x′ − μₖ)/‖x′ − μₖ‖ (eq. 9, per sample, ηₖ scaled by √d
with `sqrt_dim`). From step s on only the target samples.

`official_loop`: the official code's variant: merge m = Σ coefⱼ yⱼ with ω weights (ω on the target;
three models: ω₁ω₂, √(1−ω₁²)ω₂, √(1−ω₁²)√(1−ω₂²)), aggregated only for max(1, start) ≤ i ≤ end; μ
is the DDPM posterior mean at t + T//steps from the latent entering the step and the previous
step's ε; the pull is an absolute length p over the whole batch tensor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch


@dataclass
class GuidedModel:
    unet: torch.nn.Module
    # [negative; prompt] embeddings, [2B, tokens, D]
    embeddings: torch.Tensor
    guidance: float

    @torch.no_grad()
    def eps(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        e = self.unet(torch.cat([x, x]), t, encoder_hidden_states=self.embeddings, return_dict=False)[0]
        e_u, e_c = e.chunk(2)
        return e_u + self.guidance * (e_c - e_u)


def encode_prompts(pipe, prompt: str, negative: str, batch: int = 1) -> torch.Tensor:
    """[negative; prompt] embeddings as StableDiffusionPipeline builds them (77 tokens, max-length padding)."""
    cond, uncond = pipe.encode_prompt(prompt, "cpu", batch, True, negative_prompt=negative)
    return torch.cat([uncond, cond])


def slerp(a: torch.Tensor, b: torch.Tensor, w: float) -> torch.Tensor:
    """Per sample: sin((1−w)θ)/sin θ · a + sin(wθ)/sin θ · b, θ the angle between a and b (eq. 8);
    the linear interpolation where θ = 0."""
    a64, b64 = a.double().flatten(1), b.double().flatten(1)
    cos = (a64 * b64).sum(1) / (a64.norm(dim=1) * b64.norm(dim=1))
    theta = torch.arccos(cos.clamp(-1, 1))
    out = torch.empty_like(a64)
    for i in range(a64.shape[0]):
        th = float(theta[i])
        if math.sin(th) < 1e-12:
            out[i] = (1 - w) * a64[i] + w * b64[i]
        else:
            out[i] = (math.sin((1 - w) * th) * a64[i] + math.sin(w * th) * b64[i]) / math.sin(th)
    return out.reshape(a.shape).float()


def deviate(mixed: torch.Tensor, mu: torch.Tensor, step: float) -> torch.Tensor:
    """eq. 9 per sample: x′ − step·(x′ − μ)/‖x′ − μ‖ (x′ itself where x′ = μ)."""
    d = (mixed.double() - mu.double()).flatten(1)
    n = d.norm(dim=1, keepdim=True)
    unit = torch.where(n > 0, d / torch.where(n > 0, n, torch.ones_like(n)), torch.zeros_like(d))
    return (mixed.double().flatten(1) - step * unit).reshape(mixed.shape).float()


def ddim(scheduler, eps: torch.Tensor, t, x: torch.Tensor) -> torch.Tensor:
    return scheduler.step(eps, t, x, eta=0.0, return_dict=False)[0]


@torch.no_grad()
def algorithm1(models: Sequence[GuidedModel], scheduler, latents: Sequence[torch.Tensor], *, steps: int,
               aggregate_steps: int, weights: Sequence[float], eta: Sequence[float], target: int = 0,
               sqrt_dim: bool = True) -> torch.Tensor:
    """The paper's Algorithm 1; returns the target's final latents."""
    n = len(models)
    others = [k for k in range(n) if k != target]
    scheduler.set_timesteps(steps)
    xs = [x.clone() for x in latents]
    d = latents[0][0].numel()
    for i, t in enumerate(scheduler.timesteps):
        if i < aggregate_steps and n > 1:
            ys = [ddim(scheduler, models[k].eps(xs[k], t), t, xs[k]) for k in range(n)]
            mixed = ys[target]
            for j, k in enumerate(others):
                mixed = slerp(mixed, ys[k], weights[j])
            xs = [deviate(mixed, ys[k], eta[k] * (math.sqrt(d) if sqrt_dim else 1.0)) for k in range(n)]
        else:
            xs[target] = ddim(scheduler, models[target].eps(xs[target], t), t, xs[target])
    return xs[target]


@torch.no_grad()
def official_loop(models: Sequence[GuidedModel], scheduler, latents: Sequence[torch.Tensor], *, steps: int,
                  omegas: Sequence[float], optim_start: int, optim_end: int, p: Sequence[float],
                  target: int = 0) -> torch.Tensor:
    """The official code's loop (amdm's `reference` preset); returns the target's final latents."""
    n = len(models)
    order = [target] + [k for k in range(n) if k != target]
    if n == 2:
        coef = [omegas[0], math.sqrt(1 - omegas[0] ** 2)]
    else:
        w1, w2 = omegas
        coef = [w1 * w2, math.sqrt(1 - w1 ** 2) * w2, math.sqrt(1 - w1 ** 2) * math.sqrt(1 - w2 ** 2)]
    scheduler.set_timesteps(steps)
    stride = scheduler.config.num_train_timesteps // steps
    xs = [x.clone() for x in latents]
    eps_prev = [torch.zeros_like(x) for x in latents]
    for i, t in enumerate(scheduler.timesteps):
        active = order if i <= optim_end else [target]
        eps = {k: models[k].eps(xs[k], t) for k in active}
        ys = {k: ddim(scheduler, eps[k], t, xs[k]) for k in active}
        if max(1, optim_start) <= i <= optim_end:
            mixed = sum(c * ys[k].double() for c, k in zip(coef, order))
            t_prev = int(t) + stride  # the step before ("# t + 1" in the official code)
            alpha = float(1 - scheduler.betas[t_prev])
            alpha_bar = float(scheduler.alphas_cumprod[t_prev])
            for k in order:
                mu = xs[k].double() / math.sqrt(alpha) - (1 - alpha) / (math.sqrt(1 - alpha_bar) * math.sqrt(alpha)) * eps_prev[k].double()
                dist = float((mixed - mu).norm())
                f = p[k] / dist if dist > 0 else 0.0
                ys[k] = (mixed - f * (mixed - mu)).float()
        for k in active:
            xs[k] = ys[k]
            eps_prev[k] = eps[k]
    return xs[target]
