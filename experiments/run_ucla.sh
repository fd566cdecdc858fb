#!/usr/bin/env bash
# Every NW-UCLA cross-view number of experiments/RESULTS.md (issue 11), in one script (CPU).
#   bash experiments/run_ucla.sh ../shared/data/nw_ucla/all_sqe.tar.gz runs/ucla
#   python experiments/collect_ucla.py runs/ucla
# With the Kinect v1 corpus as extra unlabelled pre-training data (built by
# experiments/build_kinect_corpus.sh; without it the corpus rows are skipped):
#   CORPUS=kinect_v1_corpus.h5 bash experiments/run_ucla.sh ../shared/data/nw_ucla/all_sqe.tar.gz runs/ucla
# Pre-training never reads view 3 or any label; fine-tuning trains on views 1-2 (xview_train) and
# tests on view 3 (xview_test), reporting the last epoch. Settings were chosen on the validation
# split (experiments/validate_ucla.sh), never on view 3.
# JOBS runs at a time (default 2, one thread each); SEEDS (default "0 1") are the fine-tuning
# seeds of the all-label comparisons, SEEDS10 (default "0 1 2 3 4") those of the 10 % runs (each
# seed also draws its own labelled subset, so 10 % results vary more from seed to seed). Re-running skips the steps recorded in $OUT/times.tsv and resumes
# an interrupted training run.
set -euo pipefail
ARCHIVE=${1:?path to all_sqe.tar.gz}
OUT=${2:-runs/ucla}
JOBS=${JOBS:-2}
SEEDS=${SEEDS:-"0 1"}
SEEDS10=${SEEDS10:-"0 1 2 3 4"}
CORPUS=${CORPUS:-}
EXP=$(dirname "$0")
DATA="$OUT/ucla.h5"
source "$EXP/steps.sh"
step preprocess skelgraph preprocess nwucla "$ARCHIVE" "$DATA"
step preprocess_raw skelgraph preprocess nwucla "$ARCHIVE" "$OUT/ucla_raw.h5" --no-center
PAPER="$EXP/ucla_pretrain.toml"; MOTION="$EXP/ucla_pretrain_motion.toml"
PRE="skelgraph pretrain $DATA --seed 0"
# pre-training: the paper's configuration and its ablations, the position+motion recipe, and the
# recipe with the Kinect v1 corpus as extra unlabelled data
launch mae_motion $PRE --config "$MOTION" --out "$OUT/mae_motion"
launch mae_paper $PRE --config "$PAPER" --out "$OUT/mae_paper"
if [ -n "$CORPUS" ]; then
    step merge skelgraph merge "$CORPUS" "$DATA" --name kinect --name ucla "$OUT/corpus_ucla.h5"
    launch mae_corpus skelgraph pretrain "$OUT/corpus_ucla.h5" --seed 0 --config "$MOTION" --split kinect \
        --split ucla:xview_train --out "$OUT/mae_corpus"
fi
# the recipe + a contrastive term (for frozen encoders: k-NN +8.4 over random on validation)
launch mae_contrast $PRE --config "$EXP/ucla_pretrain_contrast.toml" --out "$OUT/mae_contrast"
launch mae_edge $PRE --config "$PAPER" --edge-weight 0.5 --out "$OUT/mae_edge"
launch mae_random $PRE --config "$PAPER" --mask random-joint --out "$OUT/mae_random"
finish

FTP="skelgraph finetune $DATA --config $EXP/ucla_finetune.toml"
FTM="skelgraph finetune $DATA --config $EXP/ucla_finetune_motion.toml"
for s in $SEEDS; do  # all labels: the main comparison, longest runs first
    launch "ft_motion_s$s" $FTM --pretrained "$OUT/mae_motion" --seed "$s" --out "$OUT/ft_motion_s$s"
    launch "ft_scratch_motion_s$s" $FTM --init none --seed "$s" --out "$OUT/ft_scratch_motion_s$s"
    if [ -n "$CORPUS" ]; then
        launch "ft_corpus_s$s" $FTM --pretrained "$OUT/mae_corpus" --seed "$s" --out "$OUT/ft_corpus_s$s"
    fi
done
for s in $SEEDS10; do  # 10 % of the labels (102 sequences)
    launch "ft10_motion_s$s" $FTM --pretrained "$OUT/mae_motion" --label-fraction 0.1 --seed "$s" --out "$OUT/ft10_motion_s$s"
    launch "ft10_scratch_motion_s$s" $FTM --init none --label-fraction 0.1 --seed "$s" --out "$OUT/ft10_scratch_motion_s$s"
    if [ -n "$CORPUS" ]; then
        launch "ft10_corpus_s$s" $FTM --pretrained "$OUT/mae_corpus" --label-fraction 0.1 --seed "$s" --out "$OUT/ft10_corpus_s$s"
    fi
    launch "ft10_contrast_s$s" $FTM --pretrained "$OUT/mae_contrast" --label-fraction 0.1 --seed "$s" --out "$OUT/ft10_contrast_s$s"
    launch "ft10_paper_s$s" $FTP --pretrained "$OUT/mae_paper" --label-fraction 0.1 --seed "$s" --out "$OUT/ft10_paper_s$s"
    launch "ft10_scratch_s$s" $FTP --init none --label-fraction 0.1 --seed "$s" --out "$OUT/ft10_scratch_s$s"
done
# frozen encoders: k-NN (k = 20) and linear probe of every pre-trained encoder and of random
# encoders of the same architectures
KNN="skelgraph evaluate --knn 20 --train-split xview_train --split xview_test"
LIN="skelgraph finetune $DATA --config $EXP/ucla_linear.toml"
for mae in motion contrast paper edge random ${CORPUS:+corpus}; do
    launch "knn_$mae" $KNN "$OUT/knn_$mae" "$DATA" --pretrained "$OUT/mae_$mae"
    feats=$([ "$mae" = motion ] || [ "$mae" = contrast ] || [ "$mae" = corpus ] && echo '["position","motion"]' || echo '["position"]')
    launch "linear_$mae" $LIN --pretrained "$OUT/mae_$mae" --set "features=$feats" --out "$OUT/linear_$mae"
done
for arch in paper motion; do
    feats=$([ "$arch" = motion ] && echo '["position","motion"]' || echo '["position"]')
    launch "knn_random_$arch" $KNN "$OUT/knn_random_$arch" "$DATA" --pretrained "$OUT/mae_$arch" --init none
    launch "linear_random_$arch" $LIN --init none --set "features=$feats" --out "$OUT/linear_random_$arch"
done
# the paper's configuration fine-tuned with all labels, and the ablations (edge reconstruction
# fixed, random-joint masking): one seed each after the main seeds
for s in $SEEDS; do
    launch "ft_paper_s$s" $FTP --pretrained "$OUT/mae_paper" --seed "$s" --out "$OUT/ft_paper_s$s"
    launch "ft_scratch_s$s" $FTP --init none --seed "$s" --out "$OUT/ft_scratch_s$s"
done
launch ft_edge_s0 $FTP --pretrained "$OUT/mae_edge" --seed 0 --out "$OUT/ft_edge_s0"
launch ft_random_s0 $FTP --pretrained "$OUT/mae_random" --seed 0 --out "$OUT/ft_random_s0"
finish
for run in $(cd "$OUT" && ls -d ft_* ft10_* linear_* 2>/dev/null); do
    step "eval_$run" skelgraph evaluate "$OUT/$run" "$DATA"
done
