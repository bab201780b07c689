# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv when missing and installs the project with what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-fast lint docs install browser clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

test: lint docs
	$(PY) -m pytest -q

# ruff's linter (rule sets in pyproject.toml) and its formatter, as a check
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# the documentation (MkDocs + mkdocstrings, mkdocs.yml), warnings as errors; writes site/
docs: $(STAMP)
	$(PY) -m mkdocs build --strict --quiet

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# Debian's headless Chromium for the report's browser test (tests/test_report.py);
# needs root and apt-get, does nothing when a chromium is already on the PATH.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium \
	    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	         --no-install-recommends chromium; }; }

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis site
