#!/usr/bin/env bash
# Reruns every mini-zoo table of EXPERIMENTS.md (the calibration and experiments 8–12) on the
# committed model folders, into experiments/out/mini-*; two processes side by side (two shards of
# each benchmark, or two worker processes of the calibration), one onnxruntime thread each.
# About 40 minutes on two idle cores with three noise seeds per prompt. The tables are then copied into EXPERIMENTS.md and
# models/mini-zoo/README.md by hand, with what they show.
#
#   bash experiments/zoo-rerun.sh            # everything
#   bash experiments/zoo-rerun.sh bench map  # some parts: calibration bench eta sphere map compose
#
# A benchmark folder is resumable: records already in it are kept. This script starts each one
# afresh (it removes the folder first), since its purpose is a rerun on new weights.
set -euo pipefail
cd "$(dirname "$0")/.."
AMDM=(npx tsx src/cli/main.ts)
OUT=experiments/out
PARTS=("$@")
[ ${#PARTS[@]} -gt 0 ] || PARTS=(calibration bench eta sphere map compose)
for p in "${PARTS[@]}"; do
  case "$p" in calibration | bench | eta | sphere | map | compose) ;; *)
    echo "zoo-rerun: unknown part '$p' (allowed: calibration bench eta sphere map compose)" >&2
    exit 2
    ;;
  esac
done

# Runs "$@" --shard 0/2 and --shard 1/2 side by side; the last shard writes the summary.
two_shards() {
  "${AMDM[@]}" "$@" --shard 0/2 &
  local first=$!
  "${AMDM[@]}" "$@" --shard 1/2
  wait "$first"
}

# The benchmark's common flags: the prompts of experiments 8–12 (L2–L4, 8 per level, three noise
# seeds each, images kept so that `amdm zoo rescore` can score them again under a changed evaluator).
BENCH=(--levels 2,3,4 --per-level 8 --seeds 3 --images --threads 1)

for p in "${PARTS[@]}"; do
  echo "zoo-rerun: $p" >&2
  start=$SECONDS
  case "$p" in
  calibration)
    # 50 prompts per level × 3 noise seeds; the base beside InteractDiffusion-mini, MIGC-mini beside IP-Adapter-mini
    CAL=(zoo calibrate --per-level 50 --seeds 3 --workers 2 --threads 1)
    "${AMDM[@]}" "${CAL[@]}" --models interactdiffusion-mini,base --out "$OUT/mini-calibration-strict-a"
    "${AMDM[@]}" "${CAL[@]}" --models migc-mini,ipadapter-mini --out "$OUT/mini-calibration-strict-b"
    ;;
  bench)
    rm -rf "$OUT/mini-bench"
    two_shards zoo bench "${BENCH[@]}" --out "$OUT/mini-bench" \
      --methods interact,migc,ip,interact+migc,migc+interact,interact+ip,interact+migc+ip,interact+migc:reference
    ;;
  eta)
    rm -rf "$OUT/mini-eta-rules" "$OUT/mini-variants"
    two_shards zoo bench "${BENCH[@]}" --out "$OUT/mini-eta-rules" \
      --methods interact,interact+migc,interact+migc:eta0,interact+migc:eta1,interact+migc:lerp,interact+migc:nlerp
    two_shards zoo bench "${BENCH[@]}" --out "$OUT/mini-variants" \
      --methods 'interact+migc@scale=absolute,eta=0.3;interact+migc@deviation=relative,eta=0.3;migc+interact@w=0.5,s=20,eta=0;migc+interact@w=0.9,s=40,eta=0;migc+interact@rule=lerp,w=0.9,s=40,eta=0'
    ;;
  sphere)
    "${AMDM[@]}" zoo sphere --out "$OUT/mini-sphere"
    ;;
  map)
    rm -rf "$OUT/mini-map"
    two_shards zoo experiment map --per-level 8 --seeds 3 --images --threads 1 --out "$OUT/mini-map"
    ;;
  compose)
    rm -rf "$OUT/mini-compose"
    two_shards zoo experiment compose --per-level 8 --seeds 3 --images --threads 1 --out "$OUT/mini-compose"
    ;;
  esac
  echo "zoo-rerun: $p took $((SECONDS - start)) s" >&2
done
echo "zoo-rerun: done (${PARTS[*]})" >&2
