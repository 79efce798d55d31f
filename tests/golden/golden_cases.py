"""The golden cases of the named algorithms (issue: one API for the paper's table).

Recorded *before* the composition refactor by ``python tests/golden/golden_cases.py``; the
test ``tests/test_golden.py`` recomputes them and requires the same numbers, so turning the
seven named algorithms into rows of one composition table cannot silently change them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).with_name("named_algorithms.json")
RECIPES = ("pg", "npg", "trpo", "ppo", "ppo_kl", "mdpo", "adaptive_trpo")
TINY = {"total_timesteps": 512, "num_envs": 4, "num_steps": 32, "eval_episodes": 2}
TINY_ALGO = {
    "ppo": {"batch_size": 64, "n_epochs": 2},
    "ppo_kl": {"batch_size": 64, "n_epochs": 2},
    "pg": {},
    "npg": {"vf_batch_size": 64, "vf_epochs": 2},
    "trpo": {"vf_batch_size": 64, "vf_epochs": 2},
    "mdpo": {"vf_batch_size": 64, "vf_epochs": 2, "n_epochs": 2},
    "adaptive_trpo": {"vf_batch_size": 64, "vf_epochs": 2, "n_epochs": 2},
    # Not golden cases (no pre-refactor values); other tests' tiny configs read them.
    "composed": {"vf_batch_size": 64, "vf_epochs": 2, "batch_size": 64, "n_epochs": 2},
    "acktr": {"vf_batch_size": 64, "vf_epochs": 2},
}
ENVS = ("CartPole-v1", "Pendulum-v1")
TABULAR_ITERS = 15


def compiled_case(algo: str, env_id: str) -> dict[str, list[float]]:
    """Every float metric of 4 updates and the evaluation returns, seed 0."""
    import jax

    from policyopt.configs import make_config
    from policyopt.train import make_train

    cfg = make_config(algo, env_id=env_id, **{**TINY, **TINY_ALGO[algo]})
    out = jax.jit(make_train(cfg))(jax.random.PRNGKey(0))
    res = {
        k: np.asarray(v, np.float64).tolist()
        for k, v in out.metrics.items()
        if np.issubdtype(np.asarray(v).dtype, np.floating)
    }
    res["eval_returns"] = np.asarray(out.eval_returns, np.float64).tolist()
    return res


def tabular_case(algo: str) -> dict[str, list[float]]:
    from policyopt import tabular as T

    mdp = T.frozenlake()
    h = T.run(mdp, T.make_config(algo), TABULAR_ITERS)
    return {"f": h.f.tolist(), "kl": h.kl.tolist(), "step_size": h.step_size.tolist()}


def record() -> dict:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    data = {
        "recorded_at_commit": commit,
        "compiled": {f"{a}/{e}": compiled_case(a, e) for a in RECIPES for e in ENVS},
        "tabular": {a: tabular_case(a) for a in RECIPES},
    }
    GOLDEN.write_text(json.dumps(data, indent=1) + "\n")
    return data


def rerecord(algo: str, why: str) -> dict:
    """Re-record one recipe's compiled cases after an intended change of its behaviour (the
    others keep their pre-refactor values); the file says which, at what commit and why."""
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    data = json.loads(GOLDEN.read_text())
    for e in ENVS:
        data["compiled"][f"{algo}/{e}"] = compiled_case(algo, e)
    data.setdefault("rerecorded", {})[algo] = {"after_commit": commit, "why": why}
    GOLDEN.write_text(json.dumps(data, indent=1) + "\n")
    return data


if __name__ == "__main__":
    # python tests/golden/golden_cases.py                 (all, as before the refactor)
    # python tests/golden/golden_cases.py RECIPE "WHY"    (one recipe's compiled cases)
    sys.path.insert(0, str(Path(__file__).parents[2] / "src"))
    if len(sys.argv) == 3:
        rerecord(sys.argv[1], sys.argv[2])
    else:
        record()
    print(f"wrote {GOLDEN}")
