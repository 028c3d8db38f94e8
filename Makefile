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

# The notebook tests keep their executed copies in docs/_build/notebooks, where `make docs`
# finds them: the site shows the notebooks with outputs without running them again.
EXECUTED_NOTEBOOKS := docs/_build/notebooks

test: $(VENV)/.installed-test
	MINIGRAD_EXECUTED_NOTEBOOKS=$(EXECUTED_NOTEBOOKS) \
	$(PY) -m pytest -q tests/ --doctest-modules minigrad optim schedules

$(VENV)/.installed-fast: $(VENV)/.created $(PACKAGING)
	$(PIP) install $(PIP_FLAGS) -e '.[fast]'
	touch $@

bench: $(VENV)/.installed-fast
	$(PY) benchmarks/engine.py
	$(PY) benchmarks/optimizer_step.py

$(VENV)/.installed-docs: $(VENV)/.created $(PACKAGING)
	$(PIP) install $(PIP_FLAGS) -e '.[docs]'
	touch $@

# The documentation site, built offline with warnings as errors, into docs/_build/html.
.PHONY: docs
docs: $(VENV)/.installed-docs
	MINIGRAD_EXECUTED_NOTEBOOKS=$(EXECUTED_NOTEBOOKS) \
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

$(VENV)/.installed-notebooks: $(VENV)/.created $(PACKAGING)
	$(PIP) install $(PIP_FLAGS) -e '.[notebooks]'
	touch $@

# The classroom notebooks in Jupyter, running on this project's environment. Edit the
# sources in notebooks/src/ and run `$(PY) notebooks/build.py` to regenerate the .ipynb.
.PHONY: notebooks
notebooks: $(VENV)/.installed-notebooks
	$(VENV)/bin/jupyter lab notebooks/

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis site docs/_build docs/generated
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
