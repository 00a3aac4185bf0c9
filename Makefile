# Drydock developer entry points. Everything installed or written stays under the
# repository (.venv, .tools, .data), except Debian packages.
#   make run        install what is missing, start the local stack (Ctrl-C stops it)
#   make test       install, start a separate test stack, run all tests, stop it
#   make test-unit  unit tests only, no services
#   make test-faults  the fault tier (tests/faults: services killed mid-run) on a test stack
#   make lint       ruff check, ruff format --check, mypy
#   make bench      start a separate bench stack, run bench/, write docs/benchmarks.md
#   make builder-image  build the builder's container image, drydock/builder:dev (infra/builder/)
# Settings and ports: see `make help` (infra/local/stack.py --help) and docs/local-stack.md.

SHELL := /bin/bash
PYTHON := .venv/bin/python
STACK := $(PYTHON) infra/local/stack.py

.PHONY: help install install-venv run test test-unit test-faults lint bench builder-image

help:
	@python3 infra/local/stack.py --help

install:
	@infra/local/install.sh all

install-venv:
	@infra/local/install.sh venv

run: install
	@$(STACK) run

test: install
	@$(STACK) test

# The stack runs tests/unit, integration and e2e plus these arguments: -m faults
# selects only the fault tier from them and tests/faults.
test-faults: install
	@PYTEST_ARGS="tests/faults -m faults $(PYTEST_ARGS)" $(STACK) test

bench: install
	@$(STACK) bench

builder-image:
	@infra/builder/build-image.sh

test-unit: install-venv
	@$(PYTHON) -m pytest tests/unit $(PYTEST_ARGS)

lint: install-venv
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy shared builder functions
