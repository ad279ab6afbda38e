# Sourced by quick.sh and soak.sh: start `conveyor serve` on the harness model in its own process
# group, stop it on exit, and wait until it is ready. Needs: repo, workers, port; sets model_dir, lua, pid.
model_dir=${MODEL_DIR:-${TMPDIR:-/tmp}/conveyor-bench/serving-model}
lua=${LUA:-$repo/../shared/bench/serving/post.lua}
# CONVEYOR_BIN (word-split, e.g. "env PYTHONPATH=OTHER/src conveyor") serves another checkout for an A/B.
# shellcheck disable=SC2086
OMP_NUM_THREADS=1 setsid ${CONVEYOR_BIN:-$repo/.venv/bin/conveyor} serve "$model_dir/mlflow/demo-lgbm" --name demo-lgbm \
  --port "$port" --workers "$workers" ${CONVEYOR_ARGS:-} &
pid=$!
trap 'kill -TERM -- -$pid 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null; do
  kill -0 $pid 2>/dev/null || { echo "server exited" >&2; exit 1; }
  sleep 0.3
done
