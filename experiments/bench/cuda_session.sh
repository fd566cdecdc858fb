#!/usr/bin/env bash
# Issue 20's GPU checks in one command, for a session that is lent a device machine (the
# `device` tool's `run`, which copies this checkout there and returns what is written to $OUT):
#
#   run: bash experiments/bench/cuda_session.sh          (timeout_s 540; about 6 min on an H200)
#   SMOKE=1 DEVICE=cpu bash experiments/bench/cuda_session.sh   # here: the script's own plumbing
#
# No install: the device image's python3 has torch, torch-geometric, h5py, click and numpy, and
# this checkout is put first on PYTHONPATH. Writes to $OUT (else runs/cuda_session):
#   env.txt              `skelgraph env`, nvidia-smi
#   cuda_check.txt       CUDA against the CPU in float64, every conv, both models (cuda_check.py)
#   bench_ntu.{txt,json} `skelgraph bench` at NTU shape, GIN and GCN, fused vs dense, counted
#                        GFLOP/s against the GPU's own GEMM, peak memory
#   bench_quick.{txt,json} every conv and path at batch 8
#   demo.txt             `skelgraph demo` (pre-training + fine-tuning on the embedded set; device auto)
# Each part has its own time limit, and one failing does not stop the rest; the exit status is
# the number of parts that failed.
set -uo pipefail
out=${OUT:-runs/cuda_session}
device=${DEVICE:-cuda}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
failed=0
part() {  # NAME SECONDS COMMAND...: run, log to $out/NAME.txt, count a failure
  local name=$1 limit=$2; shift 2
  echo "== $name ($(date +%T))"
  if ! timeout "$limit" "$@" > "$out/$name.txt" 2>&1; then
    failed=$((failed + 1)); echo "   FAILED (exit or timeout), see $name.txt"
  fi
  tail -n 3 "$out/$name.txt"
}
part env 60 bash -c "$py -m skelgraph env; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true"
part cuda_check 180 "$py" experiments/bench/cuda_check.py --device "$device"
if [ -z "${SMOKE:-}" ]; then
  part bench_ntu 200 "$py" -m skelgraph bench --device "$device" --conv gin --conv gcn --path fused --path dense \
    --repeats 10 --warmup 2 --no-read --json "$out/bench_ntu.json"
  part bench_quick 120 "$py" -m skelgraph bench --device "$device" --quick --no-read --json "$out/bench_quick.json"
  demo=$(mktemp -d)/demo
  part demo 240 "$py" -m skelgraph demo --out "$demo"
fi
echo "parts failed: $failed"
exit "$failed"
