# The two commands of the README: `make demo` and `make test`. Each sets itself up.
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU wheel of torch lies on the development machines' disk; elsewhere pick your own build,
# e.g. `make demo TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"`.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

LOGDIR ?= runs

demo: setup
	$(VENV)/bin/infomorph train --logdir $(LOGDIR)
	$(VENV)/bin/infomorph analyze $(LOGDIR)
	$(VENV)/bin/infomorph info $(LOGDIR)
	@for name in xor parity; do \
	  echo "== $$name"; $(VENV)/bin/infomorph pid examples/$$name.csv || exit 1; echo; done

test: setup
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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
