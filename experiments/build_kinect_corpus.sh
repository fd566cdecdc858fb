#!/usr/bin/env bash
# Builds the pooled Kinect v1 (20-joint) pre-training corpus of issue 11 from three public
# datasets, every sample mapped by joint name onto kinect_v1_20 and preprocessed as
# `skelgraph preprocess nwucla` does (one person, empty frames dropped, per-frame centring on
# the spine joint, rotation to the spine and shoulders).
#
# Usage: experiments/build_kinect_corpus.sh REPOS_DIR OUT.h5
#   REPOS_DIR holds the three repositories, cloned at these commits (the snapshots the corpus
#   statistics in experiments/RESULTS.md were measured on):
#     git clone https://github.com/hayeesha/Kinder-Gator                      # @ 2c0362357c848d7ce7b2f296fe359f5085efc71a
#     git clone https://github.com/woo-chia-wei/kinect-sequence-classification # @ 65e9b13950d7971c8d1e49e960f6796bd0dc9257
#     git clone https://github.com/JeslieHCI/UTKinect_3                       # @ 590aede4d94d2f2f90b633bb4cefb5a50bb2996d
#   (git -C REPO checkout COMMIT). Sources, read from each repository:
#     Kinder-Gator (Aloba et al., 2018)        Kinder-Gator : Adults/*.csv, Children/*.csv
#     UTD-MHAD skeletons (Chen et al., 2015)   kinect-sequence-classification : data/Skeleton/*.mat (needs scipy)
#     UTKinect-Action3D (Xia et al., 2012)     UTKinect_3 : data/UTKinect/joints/joints_*.txt + actionLabel.txt
#   None of the three repositories states a licence: research use, cite the authors, do not
#   redistribute the data or the corpus.
# Writes OUT.h5 and, beside it, one file per source (kinder_gator.h5, utd_mhad.h5, utkinect.h5)
# with its .report.txt. In OUT.h5 the split `kinder_gator` / `utd_mhad` / `utkinect` selects one
# source; labels stay per source (classes `utd_mhad:a11`, ...).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
repos=$1
out=$2
work=$(dirname "$out")
mkdir -p "$work"
skelgraph=${SKELGRAPH:-"python -m skelgraph"}

check_commit() {  # a warning, not an error: other commits may hold the same files
    local dir=$1 expected=$2
    if [[ ! -d $dir ]]; then
        echo "missing $dir (git clone it into $repos)" >&2
        exit 1
    fi
    if git -C "$dir" rev-parse HEAD >/dev/null 2>&1; then
        local head
        head=$(git -C "$dir" rev-parse HEAD)
        [[ $head == "$expected" ]] || echo "warning: $dir is at $head, the corpus was built at $expected" >&2
    fi
}
check_commit "$repos/Kinder-Gator" 2c0362357c848d7ce7b2f296fe359f5085efc71a
check_commit "$repos/kinect-sequence-classification" 65e9b13950d7971c8d1e49e960f6796bd0dc9257
check_commit "$repos/UTKinect_3" 590aede4d94d2f2f90b633bb4cefb5a50bb2996d

start=$(date +%s)
# Kinder-Gator: named CSV columns (HipCenterX, ...) in both Adults/ and Children/; the class is
# the motion name in POSE-p<participant>_<order>-<Motion-Name>-<unix ms>.csv (<order> is not a class).
$skelgraph preprocess table "$repos/Kinder-Gator" "$work/kinder_gator.h5" --to-layout kinect_v1_20 \
    --label-from-name 'POSE-p(?P<subject>\d+)_(?P<order>\d+)-(?P<class>.+?)-+\d+$'
# UTD-MHAD: d_skel [20, 3, T] in the dataset's own joint order (head first); aNN_sMM_tKK = action, subject, trial.
$skelgraph preprocess mat "$repos/kinect-sequence-classification/data/Skeleton" "$work/utd_mhad.h5" \
    --joints utd_mhad --to-layout kinect_v1_20 --mat-variable d_skel --mat-dims VCT \
    --label-from-name '(?P<class>a\d+)_s(?P<subject>\d+)_t(?P<trial>\d+)'
# UTKinect-Action3D: rows "frame id, 20 x (x y z)" in the Kinect SDK order; actionLabel.txt cuts
# each take into its actions by frame id.
$skelgraph preprocess table "$repos/UTKinect_3/data/UTKinect/joints" "$work/utkinect.h5" --no-header \
    --frame-column 0 --joints kinect_v1_20 --to-layout kinect_v1_20 \
    --label-file "$repos/UTKinect_3/data/UTKinect/joints/actionLabel.txt"
$skelgraph merge "$work/kinder_gator.h5" "$work/utd_mhad.h5" "$work/utkinect.h5" "$out"
$skelgraph info "$out"
echo "built $out in $(( $(date +%s) - start )) s" >&2
