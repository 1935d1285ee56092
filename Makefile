# Set-up and everyday commands. Each target creates .venv and installs what it needs from
# pyproject.toml, so they work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test test-all lint bench docs clean chromium

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

# Headless Chromium and a CJK font for tests/test_playground_browser.py: the Debian packages,
# installed when missing and we are root (CI's fresh machine, about a minute once). Elsewhere
# nothing is installed and that test is skipped with the reason; Playwright never downloads.
CHROMIUM_PACKAGES := chromium fonts-wqy-microhei
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $(CHROMIUM_PACKAGES) for the browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			$(CHROMIUM_PACKAGES) >/dev/null; \
	fi

test: lint chromium
	$(BIN)/python -m pytest -m "not slow" -q

# The slow tests too, and hypothesis drawing fresh random examples (make test replays fixed ones).
test-all: lint chromium
	$(BIN)/python -m pytest -q --hypothesis-profile=explore

BENCH_ARGS ?=
bench: $(VENV)/.bench
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/linear_models.py --part exact layout sparse
	$(BIN)/python benchmarks/explain.py
	$(BIN)/python benchmarks/onnx_inference.py
	$(BIN)/python benchmarks/privacy.py
	$(BIN)/python benchmarks/fit_memory.py
	$(BIN)/python benchmarks/default_model_epoch.py
	$(BIN)/python benchmarks/distributed.py
	$(BIN)/python benchmarks/streaming.py
	$(BIN)/python benchmarks/tabular_accuracy.py
	$(BIN)/python benchmarks/startup.py

# The tutorial's figures (docs/tutorial/images/*.png), drawn deterministically, and the
# playground's screenshots (docs/images/playground*.png), taken by its browser test.
docs: $(VENV)/.test chromium
	$(BIN)/python docs/tutorial/figures.py
	NUMNET_DOCS_SCREENSHOTS=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_playground_browser.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

# Mutation testing of the math (tools/mutate.py): each module against its own tests, a score
# per module, survivors checked against tests/mutants_equivalent.md. About half an hour on
# 2 cores, so not part of `make test`. MUTATE_ARGS picks modules, e.g. MUTATE_ARGS="losses".
MUTATE_ARGS ?=
$(VENV)/.mutate: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[mutate]'
	touch $@

.PHONY: mutate
mutate: $(VENV)/.mutate
	nice -n 15 $(BIN)/python tools/mutate.py $(MUTATE_ARGS)
