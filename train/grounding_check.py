"""Does InteractDiffusion-mini use its grounding? The eps-MSE of a trained run on the same noised
training samples with (a) each sample's own grounding tokens, (b) the grounding of another sample
(the batch rolled by one), (c) no grounding (all slots masked, what the unconditional row gets).
A model that learned where the relations are scores (a) clearly below (b).

  /usr/bin/python3 train/grounding_check.py --run train/runs/full/interact --vae train/runs/full/vae \
      --data train/data/minimig.bin [--samples 256] [--seed 0]

Reports the plain MSE and the MSE on the latent cells that hold a mark (train.mark_cells).
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train as tr  # noqa: E402
import zoo_models as zm  # noqa: E402
from minimig import MiniMig  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description="eps-MSE of InteractDiffusion-mini with right, other and no grounding")
    ap.add_argument("--run", required=True, help="interact run folder (model.pt)")
    ap.add_argument("--vae", required=True, help="VAE run folder (its cached latents)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.samples < 2:
        ap.error(f"--samples must be >= 2, got {a.samples}")
    torch.set_num_threads(2)
    data = MiniMig(a.data)
    ck = torch.load(os.path.join(a.run, "model.pt"))
    size = ck["size"]
    te = zm.TextEncoder(ck["used_ids"], dim=size["dim"])
    te.load_state_dict(ck["text_encoder"])
    unet = zm.UNet(ctx_dim=size["dim"], ch=size["ch"])
    zm.add_fusers(unet, size["dim"], ff=ck.get("fuser_ff", False))
    unet.load_state_dict(ck["unet"])
    z_all = tr.latents(a.vae, data, "image")
    marks = tr.mark_cells(data, z_all.shape[-1])
    table = tr.PhraseTable(te, [data["phrase_nocolour"], data["action_tokens"]])
    rng = np.random.default_rng(a.seed)
    with_rel = np.flatnonzero(np.asarray(data["n_rel"]) > 0)
    idx = np.sort(rng.choice(with_rel, size=min(a.samples, len(with_rel)), replace=False))
    with torch.no_grad():
        ctx, _ = te(tr.tokens(data["caption_nocolour"][idx]))
        zt, t, eps = tr.Diffusion().noised(z_all[idx], rng)
        sb, ob, masks, se, oe, ae = tr.interact_batch(data, table, idx, data.max_relations)
        roll = lambda x: torch.roll(x, 1, dims=0)  # noqa: E731
        variants = {
            "own grounding": (sb, ob, masks, se, oe, ae),
            "another sample's grounding": tuple(roll(x) for x in (sb, ob, masks, se, oe, ae)),
            "no grounding": (sb, ob, torch.zeros_like(masks), se, oe, ae),
        }
        m = marks[idx]
        print(f"{len(idx)} training samples with a relation, seed {a.seed}")
        print(f"{'grounding':<28} {'eps-MSE':>9} {'on mark cells':>14}")
        for name, g in variants.items():
            err = (unet(zt, t, ctx, {"grounding": tr.grounding_inputs(unet, *g)}) - eps) ** 2
            on_marks = float((err * m).sum() / (m.sum() * err.shape[1]))
            print(f"{name:<28} {float(err.mean()):>9.5f} {on_marks:>14.5f}")


if __name__ == "__main__":
    main()
