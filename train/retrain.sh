#!/usr/bin/env bash
# Retrain and re-export the whole mini-zoo (models/mini-zoo/) from scratch:
#   bash train/retrain.sh
# Steps: training set (train/make-data.ts) -> VAE (four runs: 300 steps of MSE, then 600, 800 and
# 3000 more with an L1 term) -> text encoder + base UNet (3500 steps) -> the three adapters on the
# frozen base, concurrently (InteractDiffusion-mini 5000 steps with its mark-weighted loss, MIGC-mini
# 5000, IP-Adapter-mini 1500) -> export + onnxruntime/torch check -> loss logs. Step counts, seeds
# and thread counts below are the ones of the committed folders; every run is seeded and uses a fixed thread count. About 100 minutes on
# two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-/usr/bin/python3}
DATA=${DATA:-train/data/minimig.bin}
RUNS=${RUNS:-train/runs/full}
COUNT=${COUNT:-20000}

mkdir -p "$(dirname "$DATA")" "$RUNS"
[ -f "$DATA" ] || npx tsx train/make-data.ts --out "$DATA" --count "$COUNT" --seed 1
$PY train/train.py vae --data "$DATA" --out "$RUNS/vae1" --steps 300 --batch 32 --l1 0 --threads 2 --log-every 25 --seed 1
$PY train/train.py vae --data "$DATA" --out "$RUNS/vae2" --init "$RUNS/vae1" --steps 600 --batch 32 --lr 1.5e-3 --threads 2 --log-every 25 --save-every 50 --seed 2
$PY train/train.py vae --data "$DATA" --out "$RUNS/vae3" --init "$RUNS/vae2" --steps 800 --batch 64 --lr 1e-3 --threads 2 --log-every 25 --save-every 100 --seed 3
$PY train/train.py vae --data "$DATA" --out "$RUNS/vae" --init "$RUNS/vae3" --steps 3000 --batch 64 --lr 1e-3 --threads 2 --log-every 100 --save-every 500 --seed 4
$PY train/train.py base --data "$DATA" --out "$RUNS/base" --vae "$RUNS/vae" --steps 3500 --batch 64 --lr 2e-3 --threads 2 --log-every 50 --save-every 250 --seed 3
pids=()
for spec in interact:5000:2 migc:5000:2 ipadapter:1500:1; do  # stage:steps:threads
  IFS=: read -r stage steps threads <<< "$spec"
  $PY train/train.py "$stage" --data "$DATA" --out "$RUNS/$stage" --vae "$RUNS/vae" --base "$RUNS/base" \
    --steps "$steps" --batch 32 --lr 2e-3 --threads "$threads" --log-every 50 --save-every 250 --seed 4 > "$RUNS/$stage.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
$PY train/export.py --runs "$RUNS" --out models/mini-zoo --data "$DATA" --check-dir "$RUNS/check"
npx tsx train/check-onnx.ts "$RUNS/check"
$PY train/log_summary.py --runs "$RUNS" --out models/mini-zoo/logs
