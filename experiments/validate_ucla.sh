#!/usr/bin/env bash
# Choosing the pre-training objective without the test view (issue 11): a cross-view validation
# split of NW-UCLA's training views, train on view 1 (516 sequences), validate on view 2 (504);
# view 3 is never read. Pre-training sees view 1 only (and, for the corpus rows, the Kinect v1
# corpus), without labels.
#   bash experiments/validate_ucla.sh ../shared/data/nw_ucla/all_sqe.tar.gz runs/xval
#   CORPUS=kinect_v1_corpus.h5 bash experiments/validate_ucla.sh ...   # adds the corpus rows
#   python experiments/collect_ucla.py --validation runs/xval
# Protocols: k-NN (k = 20) and linear probe of the frozen encoder against a random encoder of the
# same architecture; fine-tuning with all of view 1's labels for 40 epochs (steps at 30 and 36);
# 10 % of its labels (52 sequences) for the full 110 epochs. JOBS runs at a time (default 2).
set -euo pipefail
ARCHIVE=${1:?path to all_sqe.tar.gz}
OUT=${2:-runs/xval}
JOBS=${JOBS:-2}
CORPUS=${CORPUS:-}
EXP=$(dirname "$0")
C="$OUT/ucla_xval.h5"     # per-frame centred (preprocess's default)
R="$OUT/ucla_xval_raw.h5"  # not centred: the trajectory feature needs the centre's track
source "$EXP/steps.sh"
step preprocess_all skelgraph preprocess nwucla "$ARCHIVE" "$OUT/ucla.h5"
step split python "$EXP/ucla_xval_split.py" "$OUT/ucla.h5" "$OUT/xval_splits.json"
step preprocess skelgraph preprocess nwucla "$ARCHIVE" "$C" --split-file "$OUT/xval_splits.json"
step preprocess_raw skelgraph preprocess nwucla "$ARCHIVE" "$R" --split-file "$OUT/xval_splits.json" --no-center
P='features=["position"]'; PM='features=["position","motion"]'; PMT='features=["position","motion","trajectory"]'
PMO='targets=["position","motion"]'
declare -A FILE ARCH OBJ
add() { FILE[$1]=$2; ARCH[$1]=$3; OBJ[$1]=$4; }
# name     data  encoder (features, temporal kernel)        objective
add paper   "$C" "--set $P --set temporal_kernel=0"   ""
add edge    "$C" "--set $P --set temporal_kernel=0"   "--set edge_weight=0.5"
add mse     "$C" "--set $P --set temporal_kernel=0"   "--set loss=mse"
add l1      "$C" "--set $P --set temporal_kernel=0"   "--set loss=l1"
add pm_mse  "$C" "--set $PM --set temporal_kernel=0"  "--set $PMO --set loss=mse"
add pm_sce  "$C" "--set $PM --set temporal_kernel=0"  "--set $PMO --set loss=sce"
add pmt_mse "$R" "--set $PMT --set temporal_kernel=0" "--set $PMO --set loss=mse"
add tk_pm   "$C" "--set $PM --set temporal_kernel=5"  "--set $PMO --set loss=mse --set mask_span=4"
add tk_p    "$C" "--set $P --set temporal_kernel=5"   "--set $PMO --set loss=mse --set mask_span=4"
add pmc     "$C" "--set $PM --set temporal_kernel=0"  "--set $PMO --set loss=mse --set contrastive_weight=0.5"
add pmc2    "$C" "--set $PM --set temporal_kernel=0"  "--set $PMO --set loss=mse --set contrastive_weight=2.0"
add pmc1c5  "$C" "--set $PM --set temporal_kernel=0"  "--set $PMO --set loss=mse --set contrastive_weight=1.0 --set contrast_crop=0.5"
NAMES="paper edge mse l1 pm_mse pm_sce pmt_mse tk_pm tk_p pmc pmc2 pmc1c5"
PRE="skelgraph pretrain --config $EXP/ucla_pretrain.toml --seed 0"
for n in $NAMES; do
    launch "pre_$n" $PRE "${FILE[$n]}" --split xval_train --out "$OUT/pre_$n" ${ARCH[$n]} ${OBJ[$n]}
done
if [ -n "$CORPUS" ]; then  # the recipe pre-trained on the corpus plus view 1; everything else reads $C
    step merge skelgraph merge "$CORPUS" "$C" --name kinect --name ucla "$OUT/corpus_xval.h5"
    add cpm_mse "$C" "--set $PM --set temporal_kernel=0" ""
    launch pre_cpm_mse $PRE "$OUT/corpus_xval.h5" --split kinect --split ucla:xval_train --out "$OUT/pre_cpm_mse" \
        --set "$PM" --set "$PMO" --set loss=mse
    NAMES="$NAMES cpm_mse"
fi
finish
for n in $NAMES; do  # frozen encoders
    launch "knn_$n" skelgraph evaluate "$OUT/knn_$n" "${FILE[$n]}" --pretrained "$OUT/pre_$n" --knn 20 --train-split xval_train --split xval
    launch "knnrand_$n" skelgraph evaluate "$OUT/knnrand_$n" "${FILE[$n]}" --pretrained "$OUT/pre_$n" --init none --knn 20 --train-split xval_train --split xval
    launch "lin_$n" skelgraph finetune "${FILE[$n]}" --config "$EXP/ucla_linear.toml" --train-split xval_train --test-split xval --pretrained "$OUT/pre_$n" --out "$OUT/lin_$n" ${ARCH[$n]}
    launch "linrand_$n" skelgraph finetune "${FILE[$n]}" --config "$EXP/ucla_linear.toml" --train-split xval_train --test-split xval --init none --out "$OUT/linrand_$n" ${ARCH[$n]}
done
FT="skelgraph finetune --config $EXP/ucla_finetune.toml --train-split xval_train --test-split xval --epochs 40 --set lr_steps=[30,36]"
finetune_runs() {  # SEED, then pre-trained variants, "--", scratch architectures (P, PM, PMT, PMtk5)
    local s=$1; shift
    local scratch=0
    for n in "$@"; do
        if [ "$n" = -- ]; then scratch=1; continue; fi
        if [ $scratch = 0 ]; then
            launch "ft_${n}_s$s" $FT "${FILE[$n]}" --seed "$s" --pretrained "$OUT/pre_$n" --out "$OUT/ft_${n}_s$s" ${ARCH[$n]}
        else
            case $n in P) a="$C --set $P --set temporal_kernel=0";; PM) a="$C --set $PM --set temporal_kernel=0";;
                       PMT) a="$R --set $PMT --set temporal_kernel=0";; PMtk5) a="$C --set $PM --set temporal_kernel=5";; esac
            launch "ftscratch_${n}_s$s" $FT $a --seed "$s" --init none --out "$OUT/ftscratch_${n}_s$s"
        fi
    done
}
finetune_runs 0 paper mse pm_mse pmt_mse tk_pm pmc ${CORPUS:+cpm_mse} -- P PM PMT PMtk5
finetune_runs 1 pm_mse ${CORPUS:+cpm_mse} -- PM
FT10="skelgraph finetune --config $EXP/ucla_finetune.toml --train-split xval_train --test-split xval --label-fraction 0.1"
for s in 0 1 2; do  # 10 % of view 1's labels
    for n in pm_mse paper ${CORPUS:+cpm_mse}; do
        launch "ft10_${n}_s$s" $FT10 "${FILE[$n]}" --seed "$s" --pretrained "$OUT/pre_$n" --out "$OUT/ft10_${n}_s$s" ${ARCH[$n]}
    done
    launch "ft10scratch_PM_s$s" $FT10 "$C" --seed "$s" --init none --out "$OUT/ft10scratch_PM_s$s" --set "$PM"
    launch "ft10scratch_P_s$s" $FT10 "$C" --seed "$s" --init none --out "$OUT/ft10scratch_P_s$s" --set "$P"
done
finish
