# Two commands (README): `make demo` installs nps-id and identifies the substances in a real
# seized card; `make test` installs the test extras and runs the test suite.
VENV ?= .venv
PY := $(VENV)/bin/python

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

demo: $(PY)
	$(PY) -m pip install --quiet -e .
	$(PY) -m nps_id.demo

test: $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pytest -q -n 2

.PHONY: demo test
