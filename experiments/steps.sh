# Shared by the experiment scripts (source it after setting OUT, JOBS): named steps that run
# once, JOBS at a time, and resume.
#   step NAME command...    runs the command unless NAME is in $OUT/times.tsv, then records
#                           NAME, its wall seconds and the command there; a pre-training or
#                           fine-tuning run interrupted earlier ($OUT/NAME/checkpoint.pt
#                           without a times.tsv line) continues with --resume
#   launch NAME command...  the same in the background, once fewer than JOBS steps are running
#   finish                  waits for the launched steps; exits 1 if one failed
# Each process gets 2 / JOBS threads: on 2 cores, two one-thread runs side by side train ~1.3x
# faster than one two-thread run (experiments/RESULTS.md).
TIMES="$OUT/times.tsv"
mkdir -p "$OUT"
rm -f "$OUT"/FAILED.*
export OMP_NUM_THREADS=$(( 2 / JOBS > 0 ? 2 / JOBS : 1 ))

step() {
    local name=$1; shift
    if grep -q "^$name	" "$TIMES" 2>/dev/null; then echo "skip $name (done)"; return; fi
    if [ -f "$OUT/$name/checkpoint.pt" ]; then set -- "$@" --resume; fi
    echo "== $name: $*" >&2
    local start
    start=$(date +%s)
    # not `"$@"` alone: launch runs step behind `||`, where set -e is off, so a failed command
    # would be recorded as done
    "$@" || return 1
    printf '%s\t%s\t%s\n' "$name" "$(( $(date +%s) - start ))" "$*" >> "$TIMES"
}

launch() {
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    ( step "$@" || { echo "FAILED: $1" >&2; touch "$OUT/FAILED.$1"; } ) &
}

finish() {
    wait
    if compgen -G "$OUT/FAILED.*" > /dev/null; then echo "failed steps: $(ls "$OUT"/FAILED.*)" >&2; exit 1; fi
}
