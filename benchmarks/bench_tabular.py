"""Exact evaluation speed on a random MDP (S = 1000, A = 10), against a NumPy/SciPy solve.

Run: ``python benchmarks/bench_tabular.py``; writes ``benchmarks/results/tabular.json``.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np
import scipy.linalg

from policyopt import tabular as T
from policyopt.tabular.exact import evaluate_arrays

S, A, REPEATS = 1000, 10, 20


def _best(fn, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    mdp = T.garnet(S, A, branching=10, gamma=0.99, seed=0)
    pi = T.softmax_np(np.random.default_rng(0).normal(size=(S, A)))
    with jax.enable_x64(True):
        args = [jax.device_put(x) for x in (mdp.P, mdp.cost, mdp.mu, pi)]
        t0 = time.perf_counter()
        jax.block_until_ready(evaluate_arrays(args[0], args[1], mdp.gamma, args[2], args[3]))
        compile_s = time.perf_counter() - t0
        ours = _best(
            lambda: jax.block_until_ready(
                evaluate_arrays(args[0], args[1], mdp.gamma, args[2], args[3])
            )
        )
        public = _best(lambda: T.evaluate(mdp, pi), 5)

    def numpy_eval() -> None:
        P_pi = np.einsum("sa,sat->st", pi, mdp.P)
        lu = scipy.linalg.lu_factor(np.eye(S) - mdp.gamma * P_pi)
        V = scipy.linalg.lu_solve(lu, (pi * mdp.cost).sum(1))
        scipy.linalg.lu_solve(lu, mdp.mu, trans=1)
        _ = mdp.cost + mdp.gamma * mdp.P @ V

    ref = _best(numpy_eval)
    result = {
        "command": "python benchmarks/bench_tabular.py",
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "jax": jax.__version__,
            "device": str(jax.devices()[0]),
        },
        "mdp": {"S": S, "A": A, "branching": 10, "gamma": 0.99},
        "evaluate_jit_seconds": ours,
        "evaluate_public_api_seconds": public,
        "compile_seconds": compile_s,
        "numpy_scipy_reference_seconds": ref,
        "ratio_numpy_over_ours": ref / ours,
    }
    out = Path(__file__).parent / "results" / "tabular.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
