# Two entry points; each creates or refreshes .venv itself (stamp depends on pyproject.toml).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test test-slow bench clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test,box2d,envpool,video,sb3,ray,kfac]'
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
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

# The long learning tests (every recipe solves CartPole-v1, Pendulum thresholds); not in CI.
test-slow: $(STAMP)
	$(VENV)/bin/pytest -q -m slow

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_tabular.py
	$(VENV)/bin/python benchmarks/bench_compiled.py --seeds-scaling
	$(VENV)/bin/python benchmarks/bench_host.py

clean:
	rm -rf $(VENV) out .pytest_cache
