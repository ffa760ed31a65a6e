#!/usr/bin/env bash
# Train a kraken (ketos) recognition model from scratch on line images
# (NAME.png + NAME.gt.txt), then recognise and score a few validation lines.
#
# Usage: bash peers/kraken_train_smoke.sh DATA WORK [N_TRAIN] [N_EVAL] [EPOCHS]
#   DATA  a folder with train/ and valid/ sub-folders of png + gt.txt pairs, as
#         written by `hwr data export SOURCE --split train|valid --out DATA/<split>`
#   WORK  output folder (created; reused if it exists)
#   N_TRAIN, N_EVAL  how many lines of each split to use (default 50, 10)
#   EPOCHS           passes over the N_TRAIN lines (default 1)
# Environment: VENV (default peers/../.venv-kraken), SPEC (VGSL spec; default a
# small 0.72 M-parameter net at height 48), BATCH (16).
#
# Run it under `nice -n 19` on a shared machine. Needs peers/install_kraken.sh first.
set -euo pipefail

data=${1:?DATA folder with train/ and valid/}
work=${2:?WORK folder}
n_train=${3:-50}
n_eval=${4:-10}
epochs=${5:-1}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${VENV:-$here/../.venv-kraken}
# Height 48, two conv + max-pool blocks, one BiLSTM of 100; ketos adds the CTC layer.
spec=${SPEC:-"[1,48,0,1 Cr3,3,32 Mp2,2 Cr3,3,64 Mp2,2 S1(1x0)1,3 Lbx100 Do]"}
batch=${BATCH:-16}
# One thread everywhere: ketos --threads 1 sets torch's pool, these cover BLAS/OpenMP
# libraries loaded before it does, and PASSIVE stops idle OpenMP threads spinning.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE

mkdir -p "$work"
work=$(cd "$work" && pwd)
data=$(cd "$data" && pwd)
# Arrays, not `ls | head`: under pipefail, head closing the pipe early kills ls
# with SIGPIPE and set -e stops the script (seen here, at random).
train_images=("$data"/train/*.png)
eval_images=("$data"/valid/*.png)
printf '%s\n' "${train_images[@]:0:n_train}" > "$work/train.lst"
printf '%s\n' "${eval_images[@]:0:n_eval}" > "$work/valid.lst"
rm -rf "$work/model"

# -f path: each image has its transcription in NAME.gt.txt; -t/-e: list files, so the
# split is ours, not ketos' random -p partition. -q fixed -N: exactly EPOCHS epochs.
start=$(date +%s.%N)
"$venv/bin/ketos" -d cpu --threads 1 --workers 0 -s 1 train -f path \
  -t "$work/train.lst" -e "$work/valid.lst" -N "$epochs" -q fixed -B "$batch" \
  -s "$spec" -o "$work/model" > "$work/train.log" 2>&1
seconds=$(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$start")
echo "ketos train: $n_train lines x $epochs epochs in $seconds s (includes start-up and validation)"
grep -a -o "stage [0-9]*/[0-9]* [^•]*• [^ ]* [0-9.]*it/s" "$work/train.log" | tail -n 1 || true

# ketos writes best_<score>.safetensors (the best validation score) plus checkpoints.
models=("$work"/model/best_*.safetensors)
model=${models[0]}
echo "model: $model"
# Recognition: -s/--no-segmentation treats each input image as one line.
args=()
for image in "${eval_images[@]:0:2}"; do
  args+=(-i "$image" "$work/$(basename "${image%.png}").txt")
done
"$venv/bin/kraken" -d cpu "${args[@]}" ocr -m "$model" --no-segmentation --num-line-workers 0 \
  > "$work/ocr.log" 2>&1
for image in "${eval_images[@]:0:2}"; do
  printf 'ocr [%s]  truth [%s]\n' "$(cat "$work/$(basename "${image%.png}").txt")" "$(cat "${image%.png}.gt.txt")"
done
# Character accuracy on the validation lines.
"$venv/bin/ketos" -d cpu test -f path -m "$model" -e "$work/valid.lst" > "$work/test.log" 2>&1
grep -a -E "Character Accuracy|Word Accuracy" "$work/test.log" || true
