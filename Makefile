# The two commands of the README: `make demo` and `make test`. Each sets itself up.
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU wheel of torch lies on the development machines' disk; elsewhere pick your own build,
# e.g. `make demo TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"`.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: setup browser demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The browser tests drive Debian's Chromium (no browser download at run time).
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }

LOGDIR ?= runs
PORT ?= 8501

demo: setup
	$(VENV)/bin/infomorph train --logdir $(LOGDIR)
	$(VENV)/bin/infomorph analyze $(LOGDIR) --shuffles 100
	$(VENV)/bin/infomorph info $(LOGDIR)
	@for name in xor parity; do \
	  echo "== $$name"; $(VENV)/bin/infomorph pid examples/$$name.csv || exit 1; echo; done
	$(VENV)/bin/infomorph view $(LOGDIR) --port $(PORT)

test: setup browser
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check .

bench: setup
	$(PY) bench/pid_loss_step.py
	$(PY) bench/pid_decompose.py
	$(PY) bench/storage_checkpoint.py
	$(PY) bench/train_step.py
	$(PY) bench/analysis_throughput.py
	$(PY) bench/collection_load.py
	$(PY) bench/gpu_epoch.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
