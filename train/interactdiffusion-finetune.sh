#!/usr/bin/env bash
# Fine-tune InteractDiffusion-mini from the committed zoo folders (no training runs needed):
#   bash train/interactdiffusion-finetune.sh
# Steps: checkpoints rebuilt from models/mini-zoo (train/from_onnx.py) -> a VAE encoder fitted to
# the exported decoder (3000 steps) -> five interact fine-tunes, each from the one before:
#   1. captions and subject/object phrases with colour words, loss weight 1 + 8 on mark cells and
#      + 4 on a "looking at" subject's box, batches of samples with a relation (1500 steps);
#   2. the same with GLIGEN's gated feed-forward added to every fuser (3000 steps);
#   3. the same, longer (5000 steps); 4. and 5. the same at half the learning rate (5000 each);
#   6. the same, 10 000 steps (2 threads)
# -> export into $OUT (default train/runs/finetune/zoo) with the onnxruntime/torch check. The
# committed models/mini-zoo/interactdiffusion-mini/unet/model.onnx is this export's UNet (its
# text encoder, VAE decoder and tokenizer stay the zoo's shared ones, byte for byte).
# $ZOO must hold the InteractDiffusion-mini the fine-tune starts from (the committed one). Step
# counts, seeds and thread counts are those of the runs in EXPERIMENTS.md ("InteractDiffusion-mini
# under the strict relation tests"); about 100 minutes on two cores. The model it writes is
# conditioned on the caption and the phrases with colour words, as the zoo's scene spec
# (src/experiments/zoo/scene.ts) gives them to an interactdiffusion folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA=${DATA:-train/data/minimig.bin}
RUNS=${RUNS:-train/runs/finetune}
ZOO=${ZOO:-models/mini-zoo}
OUT=${OUT:-$RUNS/zoo}

[ -f "$DATA" ] || npx tsx train/make-data.ts --out "$DATA" --count 20000 --seed 1
$PY train/from_onnx.py --zoo "$ZOO" --out "$RUNS"
$PY train/train.py vae --data "$DATA" --out "$RUNS/vae-enc" --init "$RUNS/vae" --freeze-decoder --steps 3000 --batch 64 \
  --lr 2e-3 --threads 1 --log-every 250 --save-every 1000 --seed 5
common=(--data "$DATA" --vae "$RUNS/vae-enc" --base "$RUNS/base" --caption caption --phrases phrase --mark-weight 8
  --subject-weight 4 --relations-only --batch 32 --threads 1 --log-every 50 --save-every 500)
$PY train/train.py interact "${common[@]}" --out "$RUNS/interact-1" --init "$RUNS/interact" --steps 1500 --lr 1e-3 --seed 7
$PY train/train.py interact "${common[@]}" --out "$RUNS/interact-2" --init "$RUNS/interact-1" --fuser-ff --steps 3000 --lr 1e-3 --seed 9
$PY train/train.py interact "${common[@]}" --out "$RUNS/interact-3" --init "$RUNS/interact-2" --steps 5000 --lr 1e-3 --seed 10
$PY train/train.py interact "${common[@]}" --out "$RUNS/interact-4" --init "$RUNS/interact-3" --steps 5000 --lr 5e-4 --seed 12
$PY train/train.py interact "${common[@]}" --out "$RUNS/interact-5" --init "$RUNS/interact-4" --steps 5000 --lr 5e-4 --seed 13
$PY train/train.py interact "${common[@]}" --out "$RUNS/interact-6" --init "$RUNS/interact-5" --steps 10000 --lr 5e-4 --seed 14 \
  --threads 2 --save-every 2500
# export.py reads <runs>/interact and <runs>/vae: a folder holding just those two
mkdir -p "$RUNS/export"
ln -sfn ../interact-6 "$RUNS/export/interact"
ln -sfn ../vae-enc "$RUNS/export/vae"
$PY train/export.py --runs "$RUNS/export" --out "$OUT" --tokenizer "$ZOO/tokenizer" --only interact --check-dir "$RUNS/check"
npx tsx train/check-onnx.ts "$RUNS/check"
