#!/usr/bin/env bash
# Every NW-UCLA cross-view number in experiments/RESULTS.md, in one script (CPU, seed 0).
#   bash experiments/run_ucla.sh ../shared/data/nw_ucla/all_sqe.tar.gz runs/ucla
# Pre-training sees only the training views (xview_train) and no labels; fine-tuning trains on
# xview_train and tests on view 3 (xview_test). Wall times go to $OUT/times.tsv;
# `python experiments/collect_ucla.py runs/ucla` prints the table.
set -euo pipefail
ARCHIVE=${1:?path to all_sqe.tar.gz}
OUT=${2:-runs/ucla}
SEED=${SEED:-0}
EXP=$(dirname "$0")
mkdir -p "$OUT"
DATA="$OUT/ucla.h5"
TIMES="$OUT/times.tsv"
step() {  # step NAME command...: runs it unless NAME is already done, records the wall time
    local name=$1; shift
    if grep -q "^$name	" "$TIMES" 2>/dev/null; then echo "skip $name (done)"; return; fi
    echo "== $name: $*" >&2
    local start=$(date +%s)
    "$@"
    printf '%s\t%s\t%s\n' "$name" "$(( $(date +%s) - start ))" "$*" >> "$TIMES"
}
step preprocess skelgraph preprocess nwucla "$ARCHIVE" "$DATA"
# pre-training: the paper's body-part masking, and its two ablations
step mae_bodypart skelgraph pretrain "$DATA" --config "$EXP/ucla_pretrain.toml" --out "$OUT/mae_bodypart" --seed "$SEED"
step mae_random skelgraph pretrain "$DATA" --config "$EXP/ucla_pretrain.toml" --mask random-joint --out "$OUT/mae_random" --seed "$SEED"
step mae_edge skelgraph pretrain "$DATA" --config "$EXP/ucla_pretrain.toml" --edge-weight 0.5 --out "$OUT/mae_edge" --seed "$SEED"
# fine-tuning, same budget: from SkeletonMAE vs from scratch, all labels and 10 %
step ft_pretrained skelgraph finetune "$DATA" --config "$EXP/ucla_finetune.toml" --pretrained "$OUT/mae_bodypart" --out "$OUT/ft_pretrained" --seed "$SEED"
step ft_scratch skelgraph finetune "$DATA" --config "$EXP/ucla_finetune.toml" --init none --out "$OUT/ft_scratch" --seed "$SEED"
step ft10_pretrained skelgraph finetune "$DATA" --config "$EXP/ucla_finetune.toml" --pretrained "$OUT/mae_bodypart" --label-fraction 0.1 --out "$OUT/ft10_pretrained" --seed "$SEED"
step ft10_scratch skelgraph finetune "$DATA" --config "$EXP/ucla_finetune.toml" --init none --label-fraction 0.1 --out "$OUT/ft10_scratch" --seed "$SEED"
# frozen-encoder protocols (cheap): k-NN and linear probe of every pre-trained encoder vs a random one
step knn_random_encoder skelgraph evaluate "$OUT/knn_random_encoder" "$DATA" --init none --knn 20 --train-split xview_train --split xview_test --seed "$SEED"
step linear_random_encoder skelgraph finetune "$DATA" --config "$EXP/ucla_linear.toml" --init none --out "$OUT/linear_random_encoder" --seed "$SEED"
for mae in bodypart random edge; do
    step "knn_mae_$mae" skelgraph evaluate "$OUT/knn_mae_$mae" "$DATA" --pretrained "$OUT/mae_$mae" --knn 20 --train-split xview_train --split xview_test --seed "$SEED"
    step "linear_mae_$mae" skelgraph finetune "$DATA" --config "$EXP/ucla_linear.toml" --pretrained "$OUT/mae_$mae" --out "$OUT/linear_mae_$mae" --seed "$SEED"
done
for run in ft_pretrained ft_scratch ft10_pretrained ft10_scratch linear_random_encoder linear_mae_bodypart linear_mae_random linear_mae_edge; do
    step "eval_$run" skelgraph evaluate "$OUT/$run" "$DATA"
done
# the masking ablations fine-tuned on the same protocol (the most expensive part: last)
step ft_random_mask skelgraph finetune "$DATA" --config "$EXP/ucla_finetune.toml" --pretrained "$OUT/mae_random" --out "$OUT/ft_random_mask" --seed "$SEED"
step eval_ft_random_mask skelgraph evaluate "$OUT/ft_random_mask" "$DATA"
step ft_edge skelgraph finetune "$DATA" --config "$EXP/ucla_finetune.toml" --pretrained "$OUT/mae_edge" --out "$OUT/ft_edge" --seed "$SEED"
step eval_ft_edge skelgraph evaluate "$OUT/ft_edge" "$DATA"
