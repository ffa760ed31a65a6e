#!/usr/bin/env bash
# The whole peers comparison in one command (appendix "Peers side by side"; not run in CI).
#
# Usage: bash peers/compare.sh [--profile book|smoke] [--minutes M] [--systems a,b] [--force]
#        (options go to `python -m hwr.peers`; `--help` lists them)
#
# 1. installs what is missing: the project's venv (make venv), kraken in .venv-kraken
#    (peers/install_kraken.sh), Tesseract 5 and its training tools (peers/install_tesseract.sh,
#    needs root or sudo for apt-get the first time);
# 2. runs the comparison: exports the book task's splits, then trains, tests and times every
#    system in turn and writes results/peers/<profile>/<system>.{json,curve.csv,predictions.csv}.
#
# Systems with a record are skipped (--force redoes them), so a run cut short continues.
# Under the book profile it takes about an hour on 2 cores: 5 trained systems x 10 minutes,
# plus data preparation and recognition of the 800 test lines. Run it on an otherwise idle
# machine: the budgets are wall-clock minutes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-$root/.venv/bin/python}
if [ ! -x "$python" ]; then
  make -C "$root" venv
fi
bash "$root/peers/install_kraken.sh"
bash "$root/peers/install_tesseract.sh"
cd "$root"
# PYTHONPATH: this checkout's hwr, even when the interpreter is another checkout's venv
PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m hwr.peers "$@"
