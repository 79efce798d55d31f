# Two entry points; each creates or refreshes .venv itself (stamp depends on pyproject.toml).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-slow test-package bench clean docs docs-serve docs-figures docs-screenshots

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test,docs,box2d,envpool,video,sb3,ray,kfac]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/policyopt tabular --mdp frozenlake --iters 200 --out out/tabular-frozenlake --set adaptive_trpo.step_scale=1000
	$(VENV)/bin/policyopt tabular --mdp chain --iters 300 --out out/tabular-chain --set adaptive_trpo.step_scale=1000
	$(VENV)/bin/policyopt tabular --mdp chain --iters 150 --out out/tabular-compositions --algos trpo,mdpo,ratio/kl_reverse:constraint/natural_linesearch,clipped_ratio/kl_forward:constraint/natural,ratio/kl_reverse:annealed/natural
	$(VENV)/bin/policyopt reproduce paper --budget quick --out out/paper
	$(VENV)/bin/policyopt train ppo CartPole-v1 --seeds 4 --overwrite
	$(VENV)/bin/policyopt train trpo CartPole-v1 --seeds 4 --overwrite
	$(VENV)/bin/policyopt train npg CartPole-v1 --seeds 4 --overwrite
	$(VENV)/bin/policyopt plot runs/ppo-CartPole-v1 runs/trpo-CartPole-v1 runs/npg-CartPole-v1 --out out/cartpole
	@echo "figures: out/paper/figure*.png + out/paper/report.md, out/tabular-*/suboptimality.png, out/cartpole.png; runs: runs/"

test: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/mypy
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	$(VENV)/bin/pytest -q

# The long learning tests (every recipe solves CartPole-v1, Pendulum thresholds); not in CI.
test-slow: $(STAMP)
	$(VENV)/bin/pytest -q -m 'slow and not packaging'

# Builds the wheel and sdist, installs the wheel into a fresh virtualenv without extras, then
# with each extra, and runs what each enables (minutes; needs PyPI or a warm pip cache).
test-package: $(STAMP)
	$(VENV)/bin/pytest -q -m packaging tests/test_packaging.py

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_tabular.py
	$(VENV)/bin/python benchmarks/bench_compiled.py --seeds-scaling
	$(VENV)/bin/python benchmarks/bench_host.py

# The documentation site (mkdocs-material + mkdocstrings): warnings are errors.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

# Rerun the guides' code with img/ pointing at docs/guides/img/: the figures the site shows.
docs-figures: $(STAMP)
	MPLBACKEND=Agg $(VENV)/bin/python tests/docs_snippets.py --figures

# Headless Chromium screenshots of the built site for the README (docs/screenshots/).
docs-screenshots: $(STAMP)
	$(VENV)/bin/python scripts/docs_screenshots.py

clean:
	rm -rf $(VENV) out site .pytest_cache
