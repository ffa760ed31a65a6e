#!/usr/bin/env bash
# Install kraken 7.1.1 (ketos training + kraken recognition) into its own virtual
# environment, on the project's CPU torch 2.13.0, without pulling CUDA wheels.
#
# Usage: nice -n 19 bash peers/install_kraken.sh
# Environment:
#   VENV    where the venv goes (default: <repo>/.venv-kraken; keep it out of git)
#   PYTHON  a Python 3.11 interpreter (default: python3.11 on PATH, else pyenv's 3.11.7)
#
# Idempotent: an existing venv is reused and pip leaves satisfied pins alone
# (a second run takes about 10 s and installs nothing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=${VENV:-$(cd "$here/.." && pwd)/.venv-kraken}
KRAKEN_VERSION=7.1.1
TORCH_VERSION=2.13.0   # the project's torch (requirements.txt)

# Python 3.11: the local torch 2.13.0 CPU wheel on these machines is cp311 only.
if [ -z "${PYTHON:-}" ]; then
  if command -v python3.11 > /dev/null; then
    PYTHON=$(command -v python3.11)
  else
    PYTHON=/root/.pyenv/versions/3.11.7/bin/python
  fi
fi
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "install_kraken: need Python 3.11, got $PYTHON" >&2; exit 1; }

# 1. The venv: kraken pins its own numpy/scipy/lightning/pillow ranges, which must
#    not disturb the project's .venv.
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)

# 2. torch FIRST, pinned, on its own. Asked for by kraken (through lightning and
#    torchvision) with a range, pip would take the newest torch it can find: a CUDA
#    build of several GB. With 2.13.0 already installed, a range it satisfies
#    installs nothing more. Here `torch==2.13.0` picks the local CPU wheel
#    (pip's find-links); on a machine without it, pip would fetch PyPI's CUDA build:
#    point pip at PyTorch's CPU wheel index there instead (PIP_INDEX_URL).
installed_torch=$("$VENV/bin/python" -c 'import torch; print(torch.__version__)' 2> /dev/null || true)
if [ "${installed_torch%%+*}" != "$TORCH_VERSION" ]; then
  "${pip[@]}" install "torch==$TORCH_VERSION"
fi

# 3. kraken with every version pinned by kraken-constraints.txt (the set resolved and
#    tested on 2026-12-03; torch==2.13.0 in it keeps pip off any other torch).
#    torchvision 0.28.0 comes along: PyPI's wheel is a CUDA build (0.28.0+cu130)
#    whose _C.so needs libc10_cuda.so, so on a CPU torch it does not import (step 4).
"${pip[@]}" install -c "$here/kraken-constraints.txt" "kraken==$KRAKEN_VERSION"

# 4. The torchvision workaround: a module plus a .pth line that imports it at start-up.
#    It only acts when torchvision's _C fails to load (see torchvision_cpu_shim.py);
#    with a matching torchvision it does nothing.
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if ! cmp -s "$here/torchvision_cpu_shim.py" "$site/torchvision_cpu_shim.py"; then
  cp "$here/torchvision_cpu_shim.py" "$site/torchvision_cpu_shim.py"
fi
echo "import torchvision_cpu_shim" > "$site/torchvision_cpu_shim.pth"

# 5. Check: the imports that failed before the shim, and the two command-line tools.
"$VENV/bin/python" - << 'EOF'
import torch, torchvision, kraken, torchvision_cpu_shim as shim
from importlib.metadata import version
print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, kraken {version('kraken')}")
print(f"torchvision_cpu_shim active: {shim.ACTIVE}" + (f" ({shim.REASON})" if shim.ACTIVE else ""))
assert torch.__version__.split("+")[0] == "2.13.0", torch.__version__
EOF
"$VENV/bin/ketos" --version
"$VENV/bin/kraken" --version
du -sh "$VENV"
