# grasp-bench: `make run` for the main job, `make test` for the test suite.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
H       ?= 60

.PHONY: install run test lint bench checkpoints sweep regression baseline clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,ray]"
	touch $(STAMP)

run: install
	$(BIN)/grasp-bench run --horizon $(H)

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/grasp-bench bench

checkpoints: install
	$(BIN)/grasp-bench checkpoints --force

sweep: install
	$(BIN)/grasp-bench sweep --horizons 40,50,60,70,80

# Small CPU regression check (CI): BallNav H = 40, 20 problems, against the committed baseline.
REGRESSION := --env ballnav --horizon 40 --episodes 20 --device cpu --seed 0
regression: install
	rm -rf results/runs/ci-regression
	$(BIN)/grasp-bench run $(REGRESSION) --out results/runs/ci-regression
	$(BIN)/grasp-bench check results/runs/ci-regression --baseline results/reference/ci_baseline.csv

# Refresh the baseline after an intended change of results (commit the new file).
baseline: install
	rm -rf results/runs/ci-baseline
	$(BIN)/grasp-bench run $(REGRESSION) --out results/runs/ci-baseline
	cp results/runs/ci-baseline/summary.csv results/reference/ci_baseline.csv

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
