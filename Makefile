# Everything runs inside .venv, created on first use; needs only python3 and make.
# Stamp files in .venv record what is installed, so a second `make test` does not
# reinstall unless setup.cfg or pyproject.toml changed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
PIP_FLAGS ?= --quiet --disable-pip-version-check
PACKAGING := setup.cfg pyproject.toml

.PHONY: venv demo test bench clean

venv: $(VENV)/.created

$(VENV)/.created:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_FLAGS) --upgrade pip
	touch $@

$(VENV)/.installed-base: $(VENV)/.created $(PACKAGING)
	$(PIP) install $(PIP_FLAGS) -e .
	touch $@

$(VENV)/.installed-datasets: $(VENV)/.created $(PACKAGING)
	$(PIP) install $(PIP_FLAGS) -e '.[datasets]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.created $(PACKAGING)
	$(PIP) install $(PIP_FLAGS) -e '.[test]'
	touch $@

demo: $(VENV)/.installed-datasets
	$(PY) -m minigrad.demo
	$(PY) -m minigrad.gallery --out figures/

test: $(VENV)/.installed-test
	$(PY) -m pytest -q tests/ --doctest-modules minigrad optim schedules

bench: $(VENV)/.installed-base
	$(PY) benchmarks/engine.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis site
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
