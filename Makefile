# Local development and CI entry points; see README.md ("Running locally").
#   make up      start PostgreSQL, Kafka, migrations, topics, worker and gateway (no Docker);
#                GATEWAYS=N WORKERS=M: N gateway processes, M stream workers (1 and 1);
#                BROKERS=3: a 3-node Kafka cluster (replication 3, min.insync.replicas 2);
#                a worker or gateway that dies is restarted (infra/supervisor.py)
#   make down    stop what `make up` started
#   make test    lint (with bandit and the import contracts), type-check, then the whole
#                test suite against real services (ECG_TEST_SERVICES=testcontainers: Kafka
#                and PostgreSQL from a Docker engine instead of local processes)
#   make admin EMAIL=... [PASSWORD=...]   create an admin (or reset its password) in
#                the database of the pipeline that `make up` started
# Downloads are cached in $(ECG_CACHE_DIR), outside the repository.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

UV_VERSION := 0.13.9
ECG_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/ecg-pipeline
export ECG_CACHE_DIR
UV_HOME := $(ECG_CACHE_DIR)/uv-$(UV_VERSION)
UV := $(UV_HOME)/bin/uv
PYTHON := .venv/bin/python
# The virtualenv's interpreter: the distribution's CPython when it is a supported version
# (Debian and Ubuntu build it with profile-guided and link-time optimisation, as the
# python:3.11 Docker image is built), else whichever uv finds. A CPython built without
# them (pyenv's default) runs the QRS detector's per-candidate decisions ~20 % slower.
ECG_PYTHON ?= $(shell /usr/bin/python3 -c 'import sys; print(sys.executable if (3, 11) <= sys.version_info[:2] < (3, 14) else "")' 2>/dev/null)
RUN_DIR ?= .run
BANDIT_PATHS := gateway streams schemas client migrations infra
PYTEST_ARGS ?=
DEVICES ?= 50
SECONDS ?= 120
TRANSPORT ?= http
BENCH_DEVICES ?= 100
BENCH_ARGS ?=
GATEWAYS ?= $(or $(ECG_GATEWAYS),1)
WORKERS ?= $(or $(ECG_WORKERS),1)
BROKERS ?= $(or $(ECG_BROKERS),1)
SCALE_ARGS = --gateways "$(GATEWAYS)" --workers "$(WORKERS)" --brokers "$(BROKERS)"

.PHONY: help venv up down admin test test-faults lint fmt typecheck compose-cli bench bench-upload bench-login bench-stream bench-analysis eval

help:
	@echo "make up         start the pipeline locally; prints the gateway URL; a worker or the"
	@echo "                gateway that dies is restarted (.run/supervisor.log)"
	@echo "                GATEWAYS=N WORKERS=M: N gateway processes, M stream workers (1 and 1;"
	@echo "                M at most ECG_TOPIC_PARTITIONS, 4)"
	@echo "                BROKERS=3: a 3-node Kafka cluster (topics with 3 replicas, 2 in sync"
	@echo "                for a write) that keeps working with one broker lost (default 1)"
	@echo "make down       stop it"
	@echo "make admin EMAIL=... [PASSWORD=...]  create an admin (or reset its password) in the"
	@echo "                running pipeline; without PASSWORD it is asked for"
	@echo "make test       lint + typecheck + pytest against real PostgreSQL and Kafka"
	@echo "                ECG_TEST_SERVICES=testcontainers: those two from a Docker engine"
	@echo "make test-faults  the fault suite (~30 min): worker killed, rebalance, Kafka down, a"
	@echo "                broker of three killed, PostgreSQL stopped and frozen, poison, a soak;"
	@echo "                RUNS (3) runs each at random moments"
	@echo "make lint       ruff check, ruff format --check, bandit, and the import contracts"
	@echo "                (lint-imports); pre-commit runs the same, and mypy (.pre-commit-config.yaml)"
	@echo "make fmt        ruff check --fix and ruff format"
	@echo "make typecheck  mypy --strict"
	@echo "make bench      the pipeline beside its references in one table (< 10 min, its own stack"
	@echo "                of GATEWAYS gateway processes, WORKERS workers and BROKERS brokers, as make up):"
	@echo "                BENCH_DEVICES (100) 12-lead 500 Hz devices at real time and at full speed"
	@echo "                beside aiokafka alone, the analysis core beside NeuroKit2, a 24-h Holter,"
	@echo "                the worker's memory with 1,000 streams open"
	@echo "make bench-upload  time uploads of MIT-BIH record 100 through the running stack (after make up)"
	@echo "make bench-stream  DEVICES (50) devices stream SECONDS (120) s of record 100 at real time"
	@echo "                   through the running stack: samples/s, ack and window latency, no loss"
	@echo "                   TRANSPORT=ws: over one WebSocket per device instead of HTTP requests"
	@echo "make bench-login   time logins (success, wrong password, unknown email) through the running stack"
	@echo "make bench-analysis  samples/s of the per-window analysis on one core beside NeuroKit2, and its state size"
	@echo "make eval       QRS detector Se/+P on the MIT-BIH records (5 rates, 10-s chunks) beside NeuroKit2"
	@echo "                EXTRA=\"DIR ...\" adds every annotated WFDB record under DIR"

$(UV):
	@infra/bootstrap-uv "$(UV_HOME)" "$(UV_VERSION)"

venv: $(UV)
	@"$(UV)" sync --frozen --all-extras --quiet $(if $(ECG_PYTHON),--python "$(ECG_PYTHON)")

up: venv
	@$(PYTHON) -m infra up --run-dir "$(RUN_DIR)" $(SCALE_ARGS)

down: venv
	@$(PYTHON) -m infra down --run-dir "$(RUN_DIR)"

# $$EMAIL and $$PASSWORD are read by the shell from the environment (make exports
# command-line variables), so the password appears in no command line: it reaches
# `ecg` on stdin through printf, a shell builtin.
admin: venv
	@test -n "$${EMAIL:-}" || { echo "usage: make admin EMAIL=... [PASSWORD=...]" >&2; exit 2; }
	@test -f "$(RUN_DIR)/env" || { echo "make admin: nothing runs; start it with make up" >&2; exit 1; }
	@set -a && . "$(RUN_DIR)/env" && set +a && \
	if [ -n "$${PASSWORD:-}" ]; then \
		printf '%s\n' "$$PASSWORD" | .venv/bin/ecg create-admin --email "$$EMAIL" --password-stdin; \
	else \
		.venv/bin/ecg create-admin --email "$$EMAIL"; \
	fi

# The same commands as .pre-commit-config.yaml's hooks (and so as CI, which runs make test).
lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/bandit -c pyproject.toml -r $(BANDIT_PATHS) -q
	.venv/bin/lint-imports --no-cache --no-logo

fmt: venv
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

typecheck: venv
	.venv/bin/mypy

compose-cli: venv
	@$(PYTHON) -m infra ensure-compose-cli >/dev/null

# The test stack's leader worker looks for silent streams every second, not every 15 s:
# an e2e test waits for it to close one.
test: lint typecheck compose-cli
	ECG_STREAM_IDLE_CHECK_SECONDS=1 $(PYTHON) -m infra run -- $(PYTHON) -m pytest $(PYTEST_ARGS)

# The fault suite (tests/faults, ~30 min, docs/faults.md): every case disturbs a stack of
# its own RUNS times (3) at random moments, then a 10-min soak; a table of figures at the
# end. RUNS=1 for a quick look.
test-faults: venv
	ECG_FAULTS=1 ECG_FAULT_RUNS=$(or $(RUNS),3) ECG_STREAM_IDLE_CHECK_SECONDS=1 \
		$(PYTHON) -m infra run -- $(PYTHON) -m pytest -s -p no:cacheprovider tests/faults $(PYTEST_ARGS)

# Its own stack, as make test; the numerical libraries of the benchmark (not of the
# services) get one thread, as in bench-analysis. BENCH_ARGS: see python -m bench --help.
bench: venv
	@$(PYTHON) -m infra run $(SCALE_ARGS) -- env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(PYTHON) -m bench --devices $(BENCH_DEVICES) $(BENCH_ARGS)

bench-upload: venv
	@set -a && . "$(RUN_DIR)/env" && set +a && $(PYTHON) -m bench.upload --runs 5

bench-stream: venv
	@set -a && . "$(RUN_DIR)/env" && set +a && $(PYTHON) -m bench.stream --devices $(DEVICES) --seconds $(SECONDS) --transport $(TRANSPORT)

bench-login: venv
	@set -a && . "$(RUN_DIR)/env" && set +a && $(PYTHON) -m bench.login --runs 50

# One core: the process pins itself to one CPU, and numerical libraries get one thread.
bench-analysis: venv
	@OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PYTHON) -m bench.analysis --runs 3

# Scores the QRS detector on the records in data/ beside NeuroKit2; one table.
# EXTRA="dir ..." also scores every annotated WFDB record under those folders.
eval: venv
	@OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PYTHON) -m bench.eval $(if $(EXTRA),--extra $(EXTRA))
