#!/usr/bin/env bash
# Choosing fine-tuning settings without the test view: a cross-view validation split of
# NW-UCLA's training views (train on view 1, validate on view 2; view 3 is never read here).
#   bash experiments/validate_ucla.sh ../shared/data/nw_ucla/all_sqe.tar.gz runs/xval
#   python experiments/collect_ucla.py --validation runs/xval
# 40 fine-tuning epochs (steps at 30 and 36) on view 1's 516 sequences; pre-training sees view 1
# only, without labels. JOBS runs at a time (default 2, one thread each); re-running skips the
# steps recorded in runs/xval/times.tsv.
set -euo pipefail
ARCHIVE=${1:?path to all_sqe.tar.gz}
OUT=${2:-runs/xval}
JOBS=${JOBS:-2}
EXP=$(dirname "$0")
DATA="$OUT/ucla_xval.h5"
source "$EXP/steps.sh"
step preprocess_all skelgraph preprocess nwucla "$ARCHIVE" "$OUT/ucla.h5"
step split python "$EXP/ucla_xval_split.py" "$OUT/ucla.h5" "$OUT/xval_splits.json"
step preprocess skelgraph preprocess nwucla "$ARCHIVE" "$DATA" --split-file "$OUT/xval_splits.json"
PRE="skelgraph pretrain $DATA --config $EXP/ucla_pretrain.toml --split xval_train --seed 0"
FT="skelgraph finetune $DATA --config $EXP/ucla_finetune.toml --train-split xval_train --test-split xval --epochs 40 --set lr_steps=[30,36]"
# pre-training: the config as it is, with augmentation, 4x longer
launch mae $PRE --out "$OUT/mae"
launch mae_aug $PRE --set augment=true --out "$OUT/mae_aug"
launch mae_200 $PRE --epochs 200 --out "$OUT/mae_200"
finish
# fine-tuning, seed 0 unless named
launch scratch_s0 $FT --init none --seed 0 --out "$OUT/scratch_s0"
launch pre_s0 $FT --pretrained "$OUT/mae" --seed 0 --out "$OUT/pre_s0"
launch scratch_s1 $FT --init none --seed 1 --out "$OUT/scratch_s1"
launch pre_s1 $FT --pretrained "$OUT/mae" --seed 1 --out "$OUT/pre_s1"
launch pre_enc01_s0 $FT --pretrained "$OUT/mae" --set encoder_lr_scale=0.1 --seed 0 --out "$OUT/pre_enc01_s0"
launch scratch_strong_s0 $FT --init none --set aug_rotate=30 --set aug_scale=0.2 --seed 0 --out "$OUT/scratch_strong_s0"
launch pre_maeaug_s0 $FT --pretrained "$OUT/mae_aug" --seed 0 --out "$OUT/pre_maeaug_s0"
launch pre_mae200_s0 $FT --pretrained "$OUT/mae_200" --seed 0 --out "$OUT/pre_mae200_s0"
# LP-FT: the encoder held for the first 10 epochs while the new layers train
launch pre_frozen10_s0 $FT --pretrained "$OUT/mae" --set encoder_frozen_epochs=10 --seed 0 --out "$OUT/pre_frozen10_s0"
launch pre_frozen10_s1 $FT --pretrained "$OUT/mae" --set encoder_frozen_epochs=10 --seed 1 --out "$OUT/pre_frozen10_s1"
finish
