#!/usr/bin/env bash
# Whole fine-tuning runs of two code versions at the same time, one thread each (two cores:
# one run per core, so both see the same machine), and what each took and reached.
#
#   bash experiments/bench/finetune_side_by_side.sh UCLA.h5 OUT BASE_REV NEW_REV [NEW_ARGS...]
#   bash experiments/bench/finetune_side_by_side.sh ucla.h5 runs/speed 2f1f823 b6faa6f --set amp=true
#
# Each side is `skelgraph finetune UCLA.h5 --config experiments/ucla_finetune.toml --init none`
# (the paper's 110-epoch NW-UCLA recipe, from scratch, so no pre-training is needed) with the
# code and config of its revision (`git archive REV skelgraph experiments`); NEW_ARGS go to the
# second side only (e.g. `--set amp=true`), BOTH_ARGS to both (e.g. BOTH_ARGS="--set epochs=1" for
# a smoke test). SEEDS (default "0") runs the pair once per seed.
# Prints per run: wall minutes, the sum of the epochs' training seconds, the last test top-1/5.
set -euo pipefail
data=$(realpath "$1"); out=$(realpath -m "$2"); base=$3; new=$4; shift 4
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
mkdir -p "$out"
for rev in "$base" "$new"; do
  if [ ! -d "$out/src_$rev" ]; then
    mkdir -p "$out/src_$rev"
    git -C "$repo" archive "$rev" skelgraph experiments | tar x -C "$out/src_$rev"
  fi
done
run() {  # NAME REV [ARGS...]
  local name=$1 rev=$2; shift 2
  local start; start=$(date +%s)
  (cd "$out/src_$rev" && OMP_NUM_THREADS=1 python -m skelgraph finetune "$data" \
     --config experiments/ucla_finetune.toml --init none --out "$out/$name" "$@" > "$out/$name.log" 2>&1)
  printf '%s\t%s\n' "$name" "$(( $(date +%s) - start ))" >> "$out/times.tsv"
}
for seed in ${SEEDS:-0}; do
  # shellcheck disable=SC2086  # BOTH_ARGS: words on purpose
  run "base_s$seed" "$base" --seed "$seed" ${BOTH_ARGS:-} &
  # shellcheck disable=SC2086
  run "new_s$seed" "$new" --seed "$seed" ${BOTH_ARGS:-} "$@" &
  wait
done
python - "$out" <<'EOF'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
for line in (out / "times.tsv").read_text().splitlines():
    name, wall = line.split("\t")
    rows = [json.loads(r) for r in (out / name / "metrics.jsonl").read_text().splitlines()]
    last = rows[-1]
    print(f"{name:10} wall {int(wall) / 60:5.1f} min  training {sum(r['seconds'] for r in rows) / 60:5.1f} min  "
          f"epochs {last['epoch']}  test top-1 {last.get('test_top1')}  top-5 {last.get('test_top5')}")
EOF
