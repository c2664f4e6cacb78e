# kefu — `make run` serves a seeded demo on http://127.0.0.1:8000; `make test` runs the whole suite.
# `make install FINETUNE=1` adds PyTorch for fine-tuning intent models.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
# `make install` (what `make run` needs): the runtime alone — no PyTorch, no GPU libraries, no test packages
# (788 MiB; docs/benchmarks.md). FINETUNE=1 adds PyTorch to train intent models' fine-tuned upper layers
# (ADR 0005). Off this kind of machine PyPI's Linux x86_64 torch wheel is the CUDA build (GBs): add
# TORCH_INDEX=https://download.pytorch.org/whl/cpu. `make test` installs the test packages and PyTorch
# (the fine-tuning tests train for real).
FINETUNE ?=
TORCH  ?= torch==2.13.0
TORCH_INDEX ?=

.PHONY: install run test lint typecheck bench-ingest clean

install: $(VENV)/.installed $(if $(FINETUNE),$(VENV)/.installed-torch)

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "kefu needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-torch: $(VENV)/.installed
	$(BIN)/pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# The public URL the demo is seeded with (widget snippet, the demo order flow's HTTP action).
run: export KEFU_BASE_URL ?= http://$(HOST):$(PORT)
# Serve the demo's order API (/api/v1/demo/orders/…), which the seeded order flow calls.
run: export KEFU_DEMO ?= 1

run: install
	mkdir -p var
	$(BIN)/kefu migrate
	$(BIN)/kefu seed-demo
	$(BIN)/kefu serve --host $(HOST) --port $(PORT)

# lint-imports: the layers of docs/architecture.md (contracts in pyproject.toml [tool.importlinter])
test: $(VENV)/.installed-dev $(VENV)/.installed-torch
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src/kefu
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider -rs

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/ruff format --check src tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy src/kefu

bench-ingest: install
	$(BIN)/kefu bench ingest

clean:
	rm -rf $(VENV) var .pytest_cache .import_linter_cache .grimp_cache
