# grasp-bench: `make run` for the main job, `make test` for the test suite.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
H       ?= 60

.PHONY: install run test lint mutate bench checkpoints sweep regression baseline capacity clean \
	docs results-docs

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,ray]"
	touch $(STAMP)

run: install
	$(BIN)/grasp-bench run --horizon $(H)

# The documentation site (mkdocs.yml, docs/) into site/, with --strict: a broken link or
# anchor, a page missing from the nav or a bad API reference fails the build (CI runs it).
# The docs extra goes into the same .venv, pinned by constraints.txt.
DOCS_STAMP := $(VENV)/.docs-installed
$(DOCS_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e ".[docs]"
	touch $(DOCS_STAMP)

docs: results-docs $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The results pages (docs/results.md, docs/history-runs.md and the generated blocks of
# docs/history.md) from results/reference/**/summary.csv and meta.json; commit what it
# changes (tests/test_docs_results.py fails while they are stale).
results-docs: install
	$(BIN)/python -m grasp_bench.docsgen.results

test: install
	$(BIN)/python -m pytest

# ruff, then the import contracts of pyproject.toml (`make test` checks them too)
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

# Mutation testing (too slow for CI: thousands of mutants, each a test run, hours on a few cores;
# run it here): Cosmic Ray plants one small bug at a time in
# grasp_bench/planners/, grasp_bench/results/ and grasp_bench/judging.py, in copies of the
# working tree under mutants/ (never in the tree itself), runs the tests that cover that
# code, then prints the mutation score and every surviving mutant (tests/mutation/run.py;
# a session's config is tests/mutation/<session>.toml).  A second run goes on where the
# first stopped; MUTATE_ARGS=--fresh starts again (after changing the code under test),
# MUTATE_ARGS=--retest judges the survivors again with new tests, MUTATE_ARGS="grasp gd"
# runs those sessions (grasp, gd, cem, mppi, icem, latco, planners, results, judging),
# MUTATE_ARGS="--sample 300 results" a random 300 of a new session's mutants,
# MUTATE_ARGS=--report only prints.
MUTATE_ARGS ?=
mutate: install
	$(BIN)/python tests/mutation/run.py $(MUTATE_ARGS)

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

# Brittleness against capacity (docs/claims.md): Push-T visual models that share the
# shipped KeypointWM's frozen encoder with predictor MLPs 64 and 128 wide (the shipped one
# is 256), and one on a frozen random encoder; every point on the shipped recipe's schedule
# (40 predictor epochs x 200k windows, 20 probe epochs), so their fidelities compare.  Each
# is measured (brittleness, Figure 3's gain), then GRASP against its ablations and GD on
# 100 replay problems at H = 40.  50 min on 2 CPU cores (measured); wider predictors need
# --device cuda (a 1,024-wide one is ~8x the 256-wide one's 10 predictor minutes).
CAPACITY := results/reference/cpu/pace-capacity
PIXEL    := --env pusht --model pixel
capacity: install
	mkdir -p $(CAPACITY)
	for h in 64 128; do $(BIN)/grasp-bench train $(PIXEL) --arch hidden=$$h --device cpu \
	  --encoder-from checkpoints/pusht-pixel.pt --out $(CAPACITY)/pusht-pixel-h$$h.pt --force || exit 1; done
	$(BIN)/grasp-bench train $(PIXEL) --encoder-from random --device cpu \
	  --out $(CAPACITY)/pusht-pixel-random-encoder.pt --force
	$(BIN)/grasp-bench models --brittleness > $(CAPACITY)/brittleness-shipped.txt
	$(BIN)/grasp-bench models --dir $(CAPACITY) --brittleness > $(CAPACITY)/brittleness-variants.txt
	for m in checkpoints/pusht-pixel $(CAPACITY)/pusht-pixel-h64 $(CAPACITY)/pusht-pixel-h128 \
	    $(CAPACITY)/pusht-pixel-random-encoder; do \
	  out=$(CAPACITY)/run-$$(basename $$m); rm -rf $$out; \
	  $(BIN)/grasp-bench run $(PIXEL) --checkpoint $$m.pt --horizon 40 --device cpu --threads 2 \
	    --planners grasp,grasp-nosg,grasp-nonoise,grasp-nosync,gd --episodes 100 --out $$out \
	    || exit 1; done

clean:
	rm -rf $(VENV) build site *.egg-info .pytest_cache .ruff_cache mutants
