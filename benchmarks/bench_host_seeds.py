"""Many host seeds at the cost of few: one seed vs N seeds in lockstep, same machine, one run.

Each row is a whole ``policyopt.experiments.train_run`` in its own subprocess (one at a
time): PPO on LunarLander-v3 with its preset (rl-zoo3's entry: 16 envs × 1024 steps, EnvPool),
1e6 steps per seed, ``seeds`` = 1 and N. A host run of N seeds trains them in lockstep in one
process (:func:`policyopt.agent.learn_together`: one seed's jitted update runs while the next
seed collects). Reported: wall time of each row, N-seed wall / 1-seed wall, and whether seed
0's evaluation and metrics in the N-seed run equal the 1-seed run's bit for bit.

    python benchmarks/bench_host_seeds.py [--seeds 5] [--steps 1000000] [--algo ppo]

Writes ``benchmarks/results/host_seeds.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENV_ID = "LunarLander-v3"


def child(algo: str, seeds: int, steps: int, out: str) -> None:
    from policyopt.experiments import RunSpec, train_run

    spec = RunSpec(algo, ENV_ID, seeds=seeds, steps=steps, level="host")
    t0 = time.perf_counter()
    summary = train_run(spec, Path(out))
    wall = time.perf_counter() - t0
    print(json.dumps({"wall_seconds": wall, "summary": summary}))


def run(algo: str, seeds: int, steps: int, out: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", algo, str(seeds), str(steps), str(out)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    process_wall = time.perf_counter() - t0
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    s = row["summary"]
    return {
        "algo": algo,
        "seeds": seeds,
        "steps_per_seed": steps,
        "wall_seconds": row["wall_seconds"],
        "process_wall_seconds": process_wall,
        "train_seconds": s["run_seconds"],
        "steps_per_second": s["steps_per_second"],
        "eval_mean_return_per_seed": s["eval_mean_return_per_seed"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=4, metavar=("ALGO", "SEEDS", "STEPS", "OUT"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--algo", default="ppo")
    args = parser.parse_args()
    if args.child:
        algo, seeds, steps, out = args.child
        child(algo, int(seeds), int(steps), out)
        return
    work = Path(tempfile.mkdtemp(prefix="bench_host_seeds_"))
    one = run(args.algo, 1, args.steps, work / "one")
    print("1 seed", json.dumps(one), flush=True)
    many = run(args.algo, args.seeds, args.steps, work / "many")
    print(f"{args.seeds} seeds", json.dumps(many), flush=True)
    import numpy as np

    from policyopt.runs import load_metrics

    m1, mn = load_metrics(work / "one"), load_metrics(work / "many")
    same_eval = one["eval_mean_return_per_seed"][0] == many["eval_mean_return_per_seed"][0]
    identical = same_eval and all(np.array_equal(m1[k][0], mn[k][0], equal_nan=True) for k in m1)
    ratio = many["wall_seconds"] / one["wall_seconds"]
    result = {
        "command": "python benchmarks/bench_host_seeds.py " + " ".join(sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "env_id": ENV_ID,
        "rows": [one, many],
        "wall_ratio_many_over_one": ratio,
        "sequential_would_be": float(args.seeds),
        "seed0_bit_identical": bool(identical),
        "goal_ratio": 2.5,
    }
    print(
        f"{args.seeds} seeds / 1 seed wall: {ratio:.2f} (one after another: {args.seeds}×); "
        f"seed 0 identical: {identical}"
    )
    path = ROOT / "benchmarks" / "results" / "host_seeds.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
