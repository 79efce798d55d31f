"""Find compiled-level presets: a grid of float hyperparameters × 4 tuning seeds per target,
each target one XLA program (:func:`policyopt.experiments.tune.tune_compiled`).

Tuning seeds are 1000-1003, disjoint from the reporting seeds 0-4 of ``policyopt benchmark``.
The budget is the classic suite's for that env. Writes ``benchmarks/results/tuning.json``
(every point's per-seed returns, the pick, the settings, the date and the commit), which the
provenance comments in ``policyopt/presets.py`` cite.

    python benchmarks/tune_presets.py [--only mdpo:Pendulum-v1 ...]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from policyopt.experiments import RunSpec
from policyopt.experiments.tune import tune_compiled

OUT = Path(__file__).parent / "results" / "tuning.json"
LR_GAMMA = {"learning_rate": [3e-4, 1e-3, 3e-3], "gamma": [0.9, 0.99]}
TARGETS: dict[tuple[str, str], tuple[int, dict[str, list[float]]]] = {
    ("mdpo", "Pendulum-v1"): (200_000, LR_GAMMA),
    ("adaptive_trpo", "Pendulum-v1"): (200_000, LR_GAMMA),
    ("pg", "Pendulum-v1"): (200_000, {"learning_rate": [7e-4, 3e-3], "gamma": [0.9, 0.99]}),
    ("trpo", "MountainCarContinuous-v0"): (
        100_000,
        {"delta": [0.01, 0.03], "log_std_init": [0.0, 0.5]},
    ),
    ("npg", "MountainCarContinuous-v0"): (
        100_000,
        {"delta": [0.01, 0.03], "log_std_init": [0.0, 0.5]},
    ),
    ("pg", "CartPole-v1"): (100_000, {"learning_rate": [7e-4, 2e-3, 5e-3]}),
}
# Every other (recipe, env) of the classic suite (2026-12-02): the recipe's step size around its
# default, from the env defaults the suite ran with; MountainCar (1e6 steps, the costly one)
# two points. Vanilla PG on Pendulum failed every grid above, so a wider one.
_STEP_SIZE = {
    "ppo": {"learning_rate": [1e-4, 3e-4, 1e-3]},
    "ppo_kl": {"learning_rate": [1e-4, 3e-4, 1e-3]},
    "trpo": {"delta": [0.005, 0.01, 0.02]},
    # NPG's default step rule is "fixed" (step 1/β): its δ is unused, β is its step size
    "npg": {"beta": [4.0, 2.0, 1.0]},
    "mdpo": {"learning_rate": [3e-4, 1e-3, 3e-3]},
    "adaptive_trpo": {"learning_rate": [3e-4, 1e-3, 3e-3]},
    "pg": {"learning_rate": [7e-4, 2e-3, 5e-3]},
}
_SUITE_STEPS = {
    "Acrobot-v1": 500_000,
    "MountainCar-v0": 1_000_000,
    "Pendulum-v1": 200_000,
    "MountainCarContinuous-v0": 100_000,
}
_UNTUNED = {
    "Pendulum-v1": ["ppo_kl", "npg"],
    "MountainCarContinuous-v0": ["ppo", "ppo_kl", "mdpo", "adaptive_trpo", "pg"],
    "Acrobot-v1": ["ppo", "ppo_kl", "trpo", "npg", "mdpo", "adaptive_trpo", "pg"],
    "MountainCar-v0": ["ppo", "ppo_kl", "trpo", "npg", "mdpo", "adaptive_trpo", "pg"],
}
for _env, _algos in _UNTUNED.items():
    for _algo in _algos:
        _grid = _STEP_SIZE[_algo]
        if _env == "MountainCar-v0":  # 1e6 steps: the grid's upper two points only
            _grid = {k: v[1:] for k, v in _grid.items()}
        TARGETS[(_algo, _env)] = (_SUITE_STEPS[_env], _grid)
# MountainCarContinuous is bimodal (a seed finds the goal, ~94, or settles at 0, not moving):
# 4 tuning seeds picked settings that left 2 of 5 reporting seeds at 0 for Adaptive TRPO and
# 1 of 5 for PG, where the env defaults had none. So 16 tuning seeds there, and grids that
# hold the env defaults' learning rate (3e-4; PG's grid above lacked it).
TUNING_SEEDS = {"MountainCarContinuous-v0": 16}
TARGETS[("pg", "MountainCarContinuous-v0")] = (100_000, {"learning_rate": [3e-4, 7e-4, 2e-3]})
TARGETS[("pg", "Pendulum-v1")] = (
    200_000,
    {"learning_rate": [1e-3, 3e-3, 1e-2], "gamma": [0.9, 0.95], "log_std_init": [-1.0, 0.0]},
)

# After the RMSprop fix (2026-12-02: ε outside the root, as PyTorch's; the step is larger
# where gradients are small) the pg presets tuned before it moved: Acrobot -80.7 -> -83.7,
# MountainCar -109.1 -> -124.3, MountainCarContinuous 95.0 -> 51.5 on the reporting seeds.
# Their grids again, one step lower.
TARGETS[("pg", "Acrobot-v1")] = (500_000, {"learning_rate": [3e-4, 7e-4, 2e-3]})
TARGETS[("pg", "MountainCar-v0")] = (1_000_000, {"learning_rate": [7e-4, 2e-3]})
TARGETS[("pg", "MountainCarContinuous-v0")] = (100_000, {"learning_rate": [1e-4, 3e-4, 7e-4]})


def preset_entry(spec: RunSpec, pick: dict[str, float]) -> dict[str, Any]:
    """The PRESETS entry the pick makes: the settings the run resolved to (the env defaults
    where there was no preset) that differ from the config defaults, and the pick."""
    cfg = spec.config()
    skip = ("env_id", "total_timesteps")  # the budget is the entry's second element
    defaults = {f.name: f.default for f in dataclasses.fields(cfg) if f.name not in skip}
    entry = {k: v for k, v in defaults.items() if getattr(cfg, k) != v}
    entry = {k: getattr(cfg, k) for k in entry} | pick
    normalize_obs, normalize_reward = spec.normalization()
    return (
        entry
        | ({"normalize_obs": True} if normalize_obs else {})
        | ({"normalize_reward": True} if normalize_reward else {})
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", default=None, help="ALGO:ENV targets")
    args = ap.parse_args()
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()  # fmt: skip
    for (algo, env), (steps, grid) in TARGETS.items():
        if args.only and f"{algo}:{env}" not in args.only:
            continue
        spec = RunSpec(algo, env, seeds=TUNING_SEEDS.get(env, 4), steps=steps)
        res = tune_compiled(spec, grid, seed=1000)
        row = res.to_json() | {"date": time.strftime("%Y-%m-%d"), "commit": commit}
        results[f"{algo}:{env}"] = row
        best = max(row["points"], key=lambda p: p["mean"])
        per_seed = [round(x) for x in best["per_seed"]]
        print(f"{algo} {env}: {res.best} -> {best['mean']:.1f} {per_seed} ({res.seconds:.0f} s)")
        print(f"    preset entry: {preset_entry(spec, res.best)}")
        OUT.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
