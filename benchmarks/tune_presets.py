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
import json
import subprocess
import time
from pathlib import Path

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
        spec = RunSpec(algo, env, seeds=4, steps=steps)
        res = tune_compiled(spec, grid, seed=1000)
        row = res.to_json() | {"date": time.strftime("%Y-%m-%d"), "commit": commit}
        results[f"{algo}:{env}"] = row
        best = max(row["points"], key=lambda p: p["mean"])
        per_seed = [round(x) for x in best["per_seed"]]
        print(f"{algo} {env}: {res.best} -> {best['mean']:.1f} {per_seed} ({res.seconds:.0f} s)")
        OUT.write_text(json.dumps(results, indent=2, default=str) + "\n")


if __name__ == "__main__":
    main()
