#!/usr/bin/env bash
# Install Tesseract 5 with its LSTM training tools from Debian's packages.
#
# Usage: nice -n 19 bash peers/install_tesseract.sh   (as root, or with sudo)
#
# Idempotent: when every tool is already there it installs nothing and only prints
# the versions. Nothing is downloaded outside Debian's archive: tesstrain's
# langdata / tessdata_best downloads are not needed by peers/tesseract_train_smoke.sh
# (and are unreachable from these machines).
set -euo pipefail

# Every tool the from-scratch pipeline uses (all seven ship in Debian bookworm's
# `tesseract-ocr` 5.3.0-2 itself; no separate training package exists there, and
# libtesseract-dev is only for compiling against the library):
#   tesseract            .lstmf files (`lstm.train` config) and recognition
#   unicharset_extractor the character set from the .box files
#   combine_lang_model   the starter .traineddata (unicharset + recoder)
#   lstmtraining         training, and --stop_training to export a model
#   lstmeval             character/word error on an .lstmf list
#   combine_tessdata     inspecting/unpacking .traineddata files
#   text2image           rendering synthetic lines from fonts (not used yet)
tools=(tesseract unicharset_extractor combine_lang_model lstmtraining lstmeval combine_tessdata text2image)
# tesseract-ocr-eng: the stock English model (4.1.0 "fast", integer LSTM), a
# reference recogniser; it cannot be fine-tuned (integer weights), so our models
# are trained from scratch. tesseract-ocr-osd comes with tesseract-ocr anyway.
packages=(tesseract-ocr tesseract-ocr-eng)
tessdata=/usr/share/tesseract-ocr/5/tessdata

missing=()
for tool in "${tools[@]}"; do
  command -v "$tool" > /dev/null || missing+=("$tool")
done
[ -s "$tessdata/eng.traineddata" ] || missing+=("$tessdata/eng.traineddata")

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install_tesseract: missing ${missing[*]}; installing ${packages[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  # The package lists may be empty or stale on a new machine: apt-cache finds
  # nothing before the first update.
  if ! apt-cache show tesseract-ocr > /dev/null 2>&1; then
    "${sudo[@]}" apt-get update
  fi
  # --no-install-recommends: the recommends are not needed for LSTM training.
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${packages[@]}"
fi

# Check: all tools present, Tesseract 5, the lstm.train config the .lstmf step uses.
for tool in "${tools[@]}"; do
  command -v "$tool" > /dev/null || { echo "install_tesseract: $tool still missing" >&2; exit 1; }
done
version=$(tesseract --version 2>&1 | head -n 1)
case "$version" in
  "tesseract 5."*) ;;
  *) echo "install_tesseract: expected Tesseract 5, got '$version'" >&2; exit 1 ;;
esac
[ -s "$tessdata/configs/lstm.train" ] || { echo "install_tesseract: no $tessdata/configs/lstm.train" >&2; exit 1; }
# python3 (standard library only) runs hwr/peers/boxes.py in peers/tesseract_train_smoke.sh.
command -v python3 > /dev/null || { echo "install_tesseract: python3 needed for hwr/peers/boxes.py" >&2; exit 1; }
echo "$version; $(dpkg-query -W -f='${Package} ${Version}\n' "${packages[@]}" | tr '\n' ';')"
tesseract --list-langs 2> /dev/null | tail -n +2 | tr '\n' ' '
echo
