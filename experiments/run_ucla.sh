#!/usr/bin/env bash
# Every NW-UCLA cross-view number in experiments/RESULTS.md, in one script (CPU, seed 0).
#   bash experiments/run_ucla.sh ../shared/data/nw_ucla/all_sqe.tar.gz runs/ucla
# JOBS runs at a time (default 2, one thread each: on 2 cores that trains ~1.3x faster than one
# run on two threads); EXTRA_SEEDS (default "1") repeats the main fine-tuning pair with other
# fine-tuning seeds (same pre-trained encoder).
# Pre-training sees only the training views (xview_train) and no labels; fine-tuning trains on
# xview_train and tests on view 3 (xview_test). Wall times go to $OUT/times.tsv;
# `python experiments/collect_ucla.py runs/ucla` prints the table. Re-running the script skips
# the steps recorded in times.tsv and resumes an interrupted training run.
set -euo pipefail
ARCHIVE=${1:?path to all_sqe.tar.gz}
OUT=${2:-runs/ucla}
SEED=${SEED:-0}
JOBS=${JOBS:-2}
EXTRA_SEEDS=${EXTRA_SEEDS:-1}
EXP=$(dirname "$0")
DATA="$OUT/ucla.h5"
source "$EXP/steps.sh"
step preprocess skelgraph preprocess nwucla "$ARCHIVE" "$DATA"
# pre-training: the paper's body-part masking, and its two ablations
launch mae_bodypart skelgraph pretrain "$DATA" --config "$EXP/ucla_pretrain.toml" --out "$OUT/mae_bodypart" --seed "$SEED"
launch mae_random skelgraph pretrain "$DATA" --config "$EXP/ucla_pretrain.toml" --mask random-joint --out "$OUT/mae_random" --seed "$SEED"
launch mae_edge skelgraph pretrain "$DATA" --config "$EXP/ucla_pretrain.toml" --edge-weight 0.5 --out "$OUT/mae_edge" --seed "$SEED"
finish
FT="skelgraph finetune $DATA --config $EXP/ucla_finetune.toml"
# fine-tuning, same budget: from SkeletonMAE vs from scratch (the longest runs first)
launch ft_pretrained $FT --pretrained "$OUT/mae_bodypart" --out "$OUT/ft_pretrained" --seed "$SEED"
launch ft_scratch $FT --init none --out "$OUT/ft_scratch" --seed "$SEED"
for s in $EXTRA_SEEDS; do
    launch "ft_pretrained_s$s" $FT --pretrained "$OUT/mae_bodypart" --out "$OUT/ft_pretrained_s$s" --seed "$s"
    launch "ft_scratch_s$s" $FT --init none --out "$OUT/ft_scratch_s$s" --seed "$s"
done
# the masking ablations fine-tuned on the same protocol
launch ft_random_mask $FT --pretrained "$OUT/mae_random" --out "$OUT/ft_random_mask" --seed "$SEED"
launch ft_edge $FT --pretrained "$OUT/mae_edge" --out "$OUT/ft_edge" --seed "$SEED"
# 10 % and 1 % of the labels
launch ft10_pretrained $FT --pretrained "$OUT/mae_bodypart" --label-fraction 0.1 --out "$OUT/ft10_pretrained" --seed "$SEED"
launch ft10_scratch $FT --init none --label-fraction 0.1 --out "$OUT/ft10_scratch" --seed "$SEED"
launch ft01_pretrained $FT --pretrained "$OUT/mae_bodypart" --label-fraction 0.01 --out "$OUT/ft01_pretrained" --seed "$SEED"
launch ft01_scratch $FT --init none --label-fraction 0.01 --out "$OUT/ft01_scratch" --seed "$SEED"
# frozen-encoder protocols (cheap): k-NN and linear probe of every pre-trained encoder vs a random one
launch knn_random_encoder skelgraph evaluate "$OUT/knn_random_encoder" "$DATA" --init none --knn 20 --train-split xview_train --split xview_test --seed "$SEED"
launch linear_random_encoder skelgraph finetune "$DATA" --config "$EXP/ucla_linear.toml" --init none --out "$OUT/linear_random_encoder" --seed "$SEED"
for mae in bodypart random edge; do
    launch "knn_mae_$mae" skelgraph evaluate "$OUT/knn_mae_$mae" "$DATA" --pretrained "$OUT/mae_$mae" --knn 20 --train-split xview_train --split xview_test --seed "$SEED"
    launch "linear_mae_$mae" skelgraph finetune "$DATA" --config "$EXP/ucla_linear.toml" --pretrained "$OUT/mae_$mae" --out "$OUT/linear_mae_$mae" --seed "$SEED"
done
finish
for run in ft_pretrained ft_scratch ft10_pretrained ft10_scratch ft01_pretrained ft01_scratch linear_random_encoder linear_mae_bodypart \
           linear_mae_random linear_mae_edge ft_random_mask ft_edge; do
    step "eval_$run" skelgraph evaluate "$OUT/$run" "$DATA"
done
for s in $EXTRA_SEEDS; do
    step "eval_ft_pretrained_s$s" skelgraph evaluate "$OUT/ft_pretrained_s$s" "$DATA"
    step "eval_ft_scratch_s$s" skelgraph evaluate "$OUT/ft_scratch_s$s" "$DATA"
done
