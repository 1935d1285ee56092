# Set-up and everyday commands. Each target creates .venv and installs what it needs from
# pyproject.toml, so they work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-all lint bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

$(VENV)/.bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@

demo: $(VENV)/.core
	$(BIN)/numnet demo

lint: $(VENV)/.test
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -m "not slow" -q

# The slow tests too, and hypothesis drawing fresh random examples (make test replays fixed ones).
test-all: lint
	$(BIN)/python -m pytest -q --hypothesis-profile=explore

BENCH_ARGS ?=
bench: $(VENV)/.bench
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/linear_models.py --part exact layout sparse
	$(BIN)/python benchmarks/explain.py
	$(BIN)/python benchmarks/onnx_inference.py
	$(BIN)/python benchmarks/privacy.py
	$(BIN)/python benchmarks/distributed.py
	$(BIN)/python benchmarks/streaming.py

# The tutorial's figures (docs/tutorial/images/*.png), drawn deterministically.
docs: $(VENV)/.test
	$(BIN)/python docs/tutorial/figures.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
