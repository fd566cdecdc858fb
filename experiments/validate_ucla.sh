#!/usr/bin/env bash
# Choosing fine-tuning settings without the test view: a cross-view validation split of
# NW-UCLA's training views (train on view 1, validate on view 2; view 3 is never read here).
#   bash experiments/validate_ucla.sh ../shared/data/nw_ucla/all_sqe.tar.gz runs/xval
#   python experiments/collect_ucla.py --validation runs/xval
# 40 fine-tuning epochs (steps at 30 and 36) on view 1's 516 sequences; pre-training sees view 1
# only, without labels. Two runs at a time with one thread each use 2 cores best
# (JOBS=2, the default; JOBS=1 runs them one by one).
set -euo pipefail
ARCHIVE=${1:?path to all_sqe.tar.gz}
OUT=${2:-runs/xval}
EXP=$(dirname "$0")
JOBS=${JOBS:-2}
mkdir -p "$OUT"
DATA="$OUT/ucla_xval.h5"
if [ ! -f "$DATA" ]; then
    skelgraph preprocess nwucla "$ARCHIVE" "$OUT/ucla.h5"
    python "$EXP/ucla_xval_split.py" "$OUT/ucla.h5" "$OUT/xval_splits.json"
    skelgraph preprocess nwucla "$ARCHIVE" "$DATA" --split-file "$OUT/xval_splits.json"
fi
run() {  # run NAME command...: skips a finished run (NAME.done), logs to NAME.log, resumes a killed one
    local name=$1; shift
    if [ -f "$OUT/$name.done" ]; then echo "skip $name (done)"; return; fi
    local resume=(); [ -f "$OUT/$name/checkpoint.pt" ] && resume=(--resume)
    echo "== $name: $*" >&2
    OMP_NUM_THREADS=$(( 2 / JOBS > 0 ? 2 / JOBS : 1 )) "$@" --out "$OUT/$name" "${resume[@]}" > "$OUT/$name.log" 2>&1
    touch "$OUT/$name.done"
}
launch() {  # launch NAME command...: runs it in the background once fewer than JOBS runs are going
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    ( run "$@" || echo "FAILED: $1 (see $OUT/$1.log)" >&2 ) &
}
PRE="skelgraph pretrain $DATA --config $EXP/ucla_pretrain.toml --split xval_train --seed 0"
FT="skelgraph finetune $DATA --config $EXP/ucla_finetune.toml --train-split xval_train --test-split xval --epochs 40 --set lr_steps=[30,36]"
# pre-training: the config as it is, with augmentation, 4x longer
launch mae $PRE
launch mae_aug $PRE --set augment=true
launch mae_200 $PRE --epochs 200
wait
# fine-tuning, seed 0 unless named
launch scratch_s0 $FT --init none --seed 0
launch pre_s0 $FT --pretrained "$OUT/mae" --seed 0
launch scratch_s1 $FT --init none --seed 1
launch pre_s1 $FT --pretrained "$OUT/mae" --seed 1
launch pre_enc01_s0 $FT --pretrained "$OUT/mae" --set encoder_lr_scale=0.1 --seed 0
launch scratch_strong_s0 $FT --init none --set aug_rotate=30 --set aug_scale=0.2 --seed 0
launch pre_maeaug_s0 $FT --pretrained "$OUT/mae_aug" --seed 0
launch pre_mae200_s0 $FT --pretrained "$OUT/mae_200" --seed 0
wait
