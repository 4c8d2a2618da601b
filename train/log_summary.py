"""Copies the runs' loss logs next to the exported zoo and writes their summary table.

  python3 train/log_summary.py --runs train/runs/full --out models/mini-zoo/logs

Reads <run>/log.csv and <run>/args.json of every run folder (vae1, vae2, vae3, vae, base,
interact, migc, ipadapter; missing ones are skipped) and writes <out>/<run>.csv and
<out>/SUMMARY.md.
"""
import argparse
import csv
import json
import os
import shutil

RUNS = ["vae1", "vae2", "vae3", "vae", "base", "interact", "migc", "ipadapter"]


def main(argv=None):
    ap = argparse.ArgumentParser(description="copy the loss logs and summarise them")
    ap.add_argument("--runs", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    rows = []
    for run in RUNS:
        log = os.path.join(a.runs, run, "log.csv")
        if not os.path.exists(log):
            continue
        with open(os.path.join(a.runs, run, "args.json")) as f:
            args = json.load(f)
        with open(log) as f:
            lines = list(csv.DictReader(f))
        shutil.copyfile(log, os.path.join(a.out, f"{run}.csv"))
        rows.append(f"| {run} | {lines[-1]['step']} | {args['batch']} | {args['threads']} | {lines[0]['loss']} | "
                    f"{lines[-1]['loss']} | {lines[-1]['seconds']} |")
    text = ["# Runs of the committed weights", "",
            "| run | steps | batch | threads | first logged loss | last logged loss | seconds |",
            "|---|---|---|---|---|---|---|", *rows, "",
            "Losses: VAE = MSE (+ L1 from vae2 on) of the reconstruction; the others = ε-prediction MSE, "
            "mean over the last `--log-every` steps of the run. Times are wall-clock seconds on a 2-core "
            "machine shared with other work (the three adapters train side by side). `bash train/retrain.sh` "
            "reruns all of them."]
    tmp = os.path.join(a.out, "SUMMARY.md.tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(text) + "\n")
    os.replace(tmp, os.path.join(a.out, "SUMMARY.md"))
    print(f"wrote {len(rows)} logs and SUMMARY.md to {a.out}")


if __name__ == "__main__":
    main()
