"""Throughput of the named recipes, this tree against a git revision, in one run.

    python benchmarks/bench_refactor.py --ref 2b0f388 [--repeats 3] [--algos ppo,trpo]

For a refactor that must not slow anything down (the composition engine replaced the seven
hand-written recipes): each recipe's CartPole-v1 preset is trained by both versions, in
alternating subprocesses (ref, this tree, ref, …) so drift in the machine's speed hits both
alike, and the steady-state steps/s (compile time excluded) are compared. The revision is
checked out into a temporary ``git worktree``; each subprocess imports ``policyopt`` from
its own ``src``. Writes ``benchmarks/results/refactor.json`` and prints the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ("pg", "npg", "trpo", "ppo", "ppo_kl", "mdpo", "adaptive_trpo")

_CHILD = """
import json, sys
import numpy as np
from policyopt.configs import make_config
from policyopt.presets import PRESETS
from policyopt.train import run_train
algo = sys.argv[1]
kw, budget = PRESETS[(algo, "CartPole-v1")]
cfg = make_config(algo, env_id="CartPole-v1", total_timesteps=budget, **kw)
res = run_train(cfg, seed=0, num_seeds=1)
print(json.dumps({"steps_per_second": res.steps_per_second,
                  "compile_seconds": res.compile_seconds,
                  "eval": float(np.mean(res.output.eval_returns)),
                  "module": __import__("policyopt").__file__}))
"""


def run(src: Path, algo: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "POLICYOPT_CACHE_DIR": "off"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, algo], env=env, capture_output=True, text=True, check=True
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["module"].startswith(str(src)), res["module"]
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", required=True, help="git revision to compare against")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--algos", default=",".join(RECIPES))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/refactor.json")
    args = parser.parse_args()
    algos = [a for a in args.algos.split(",") if a]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "ref"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.ref], cwd=ROOT,
                       check=True, capture_output=True)  # fmt: skip
        try:
            for algo in algos:
                ref, new = [], []
                for _ in range(args.repeats):
                    ref.append(run(tree / "src", algo))
                    new.append(run(ROOT / "src", algo))
                r = statistics.median(x["steps_per_second"] for x in ref)
                n = statistics.median(x["steps_per_second"] for x in new)
                rows.append({
                    "algo": algo,
                    "ref_steps_per_second": r,
                    "new_steps_per_second": n,
                    "ratio": n / r,
                    "ref_compile_seconds": statistics.median(x["compile_seconds"] for x in ref),
                    "new_compile_seconds": statistics.median(x["compile_seconds"] for x in new),
                    "ref_eval": ref[0]["eval"],
                    "new_eval": new[0]["eval"],
                })  # fmt: skip
                print(f"{algo:14s} ref {r:10.0f}  new {n:10.0f} steps/s  ratio {n / r:5.3f}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                           check=False, capture_output=True)  # fmt: skip
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()  # fmt: skip
    result = {
        "ref": args.ref,
        "head": head,
        "repeats": args.repeats,
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
