#!/usr/bin/env bash
# AutoML quality: conveyor side by side with FLAML and AutoGluon through ../shared/bench/automl.
# Environment: PEERS (peers venv, outside the repo), OUT (results folder), BUDGET, SEEDS,
# SYSTEMS (default: conveyor; the peers' quiet-machine results are merged into the report),
# DATASETS (comma-separated subset).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
shared=${SHARED:-$(cd "$repo/../shared" && pwd)}
peers=${PEERS:-$HOME/venvs/peers}
out=${OUT:-${TMPDIR:-/tmp}/conveyor-bench/automl}
budget=${BUDGET:-60}
mkdir -p "$out"
if [ ! -x "$peers/bin/python" ]; then
  python3.11 -m venv "$peers"
  "$peers/bin/pip" install --quiet -r "$shared/bench/automl/requirements-peers.txt"
fi
cd "$shared/bench/automl"
CONVEYOR_BIN="$repo/.venv/bin/conveyor" "$peers/bin/python" suite.py \
  --manifest "$shared/datasets/bench/manifest.json" --systems "${SYSTEMS:-conveyor}" \
  --budget "$budget" --seeds "${SEEDS:-0}" --order size --resume \
  ${DATASETS:+--datasets "$DATASETS"} --out "$out/results.jsonl" --split-dir "$out/splits"
# The peers' records: seed 0 from ../shared (quiet machine), seeds 1 and 2 measured here (bench/automl/results);
# the re-measures of seeds 1 and 2 at lower load come last, so their records replace the first ones (the last
# line wins).
results="$here/automl/results"
"$peers/bin/python" report.py "$out/results.jsonl" "$shared/bench/automl/results/bench60_seed0.jsonl" \
  "$results/peers60_seeds12.jsonl" "$results/peers60_seed1_quiet.jsonl" "$results/peers60_seed2_quiet.jsonl" \
  --budget "$budget" --peers flaml,autogluon | tee "$out/report.md"
