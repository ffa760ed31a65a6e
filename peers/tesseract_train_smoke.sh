#!/usr/bin/env bash
# Train a Tesseract LSTM model FROM SCRATCH on line images (NAME.png + NAME.gt.txt),
# entirely offline: no langdata, no tessdata_best, no tesstrain checkout.
#
# Usage: bash peers/tesseract_train_smoke.sh DATA WORK [N_TRAIN] [N_EVAL] [ITERATIONS]
#   DATA  a folder with train/ and valid/ sub-folders of png + gt.txt pairs, as
#         written by `hwr data export SOURCE --split train|valid --out DATA/<split>`
#   WORK  output folder (created; reused if it exists)
#   N_TRAIN, N_EVAL  how many lines of each split to use (default 50, 10)
#   ITERATIONS       lstmtraining iterations, one line each (default 500)
# Environment: NET_SPEC (default a small 0.13 M-weight net), LEARNING_RATE (0.002).
#
# Run it under `nice -n 19` on a shared machine. Needs peers/install_tesseract.sh first.
set -euo pipefail

data=${1:?DATA folder with train/ and valid/}
work=${2:?WORK folder}
n_train=${3:-50}
n_eval=${4:-10}
iterations=${5:-500}
# [1,36,0,1 ...]: grey input scaled to height 36 (as tesstrain's default); c### is
# replaced below with the size of the starter model's character set.
net_spec=${NET_SPEC:-"[1,36,0,1 Ct3,3,16 Mp3,3 Lfys48 Lbx96 O1c###]"}
learning_rate=${LEARNING_RATE:-0.002}
lang=hwr
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# One OpenMP thread: tesseract and lstmtraining are built with OpenMP and would
# otherwise oversubscribe a machine that is running anything else.
export OMP_THREAD_LIMIT=1

mkdir -p "$work"
work=$(cd "$work" && pwd)
data=$(cd "$data" && pwd)
# Arrays, not `ls | head`: under pipefail, head closing the pipe early kills ls
# with SIGPIPE and set -e stops the script (seen here, at random).
train_images=("$data"/train/*.png)
eval_images=("$data"/valid/*.png)

# Start clean: a reused WORK with more lines (or another charset) would leak into
# the lists and the starter folder.
rm -rf "$work/train" "$work/eval" "$work/starter" "$work/out"

# 1. Box files (one box per character, each spanning the whole line) and image links.
python3 "$here/../hwr/peers/boxes.py" "$work/train" "${train_images[@]:0:n_train}"
python3 "$here/../hwr/peers/boxes.py" "$work/eval" "${eval_images[@]:0:n_eval}"

# 2. .lstmf files: tesseract renders each line through its LSTM input pipeline and
#    stores image + boxes. --psm 13 = raw line, no layout analysis.
start=$(date +%s.%N)
for image in "$work"/train/*.png "$work"/eval/*.png; do
  tesseract "$image" "${image%.png}" --psm 13 lstm.train > /dev/null 2>> "$work/lstmf.log"
done
printf '%s\n' "$work"/train/*.lstmf > "$work/list.train"
printf '%s\n' "$work"/eval/*.lstmf > "$work/list.eval"
echo "lstmf: $(wc -l < "$work/list.train") train, $(wc -l < "$work/list.eval") eval," \
  "$(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$start") s"

# 3. Unicharset from the transcriptions (train + eval, so that eval lines encode;
#    norm_mode 2 splits graphemes, tesstrain's default for Latin scripts).
unicharset_extractor --output_unicharset "$work/unicharset" --norm_mode 2 \
  "$work"/train/*.box "$work"/eval/*.box > "$work/unicharset.log" 2>&1

# 4. Starter traineddata (unicharset + recoder, no dictionaries). combine_lang_model
#    needs a script dir holding radical-stroke.txt, which may hold only a comment
#    (Han radicals only matter for CJK); a missing <Script>.unicharset only warns.
mkdir -p "$work/langdata" "$work/starter"
echo "# radical-stroke table: empty, no Han characters in these scripts" > "$work/langdata/radical-stroke.txt"
combine_lang_model --input_unicharset "$work/unicharset" --script_dir "$work/langdata" \
  --output_dir "$work/starter" --lang "$lang" > "$work/starter.log" 2>&1
starter="$work/starter/$lang/$lang.traineddata"
# combine_lang_model names a file after the size of the recoded character set.
size_files=("$work/starter/$lang/$lang".charset_size=*.txt)
charset_size=${size_files[0]##*charset_size=}
charset_size=${charset_size%.txt}
net_spec=${net_spec//c###/c$charset_size}
echo "starter: $starter (charset size $charset_size), net $net_spec"

# 5. Training from scratch (no --continue_from). Each iteration is one line.
mkdir -p "$work/out"
rm -f "$work/out/${lang}_checkpoint"
start=$(date +%s.%N)
lstmtraining --traineddata "$starter" --net_spec "$net_spec" \
  --model_output "$work/out/$lang" --learning_rate "$learning_rate" \
  --train_listfile "$work/list.train" --eval_listfile "$work/list.eval" \
  --max_iterations "$iterations" --target_error_rate 0.01 --debug_interval 0 \
  > "$work/train.log" 2>&1
seconds=$(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$start")
echo "lstmtraining: $iterations iterations in $seconds s"
grep -E "^At iteration" "$work/train.log" | tail -n 2

# 6. Checkpoint -> runnable (float) traineddata; recognise a few eval lines; score.
lstmtraining --stop_training --continue_from "$work/out/${lang}_checkpoint" \
  --traineddata "$starter" --model_output "$work/out/$lang.traineddata" > "$work/stop.log" 2>&1
eval_links=("$work"/eval/*.png)
for image in "${eval_links[@]:0:3}"; do
  text=$(tesseract "$image" - --tessdata-dir "$work/out" -l "$lang" --psm 13 2> /dev/null || true)
  printf 'ocr [%s]  truth [%s]\n' "${text//$'\f'/}" "$(cat "${image%.png}.gt.txt")"
done
lstmeval --model "$work/out/$lang.traineddata" --eval_listfile "$work/list.eval" 2>&1 | tail -n 1
