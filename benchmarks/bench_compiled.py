"""Compiled training on CartPole-v1 against its peers, in one run on one machine.

Ours (this venv): PPO, TRPO, NPG, MDPO, PPO-KL, PG (A2C), Adaptive TRPO with the settings of
``policyopt.presets`` (rl-zoo3 CartPole-v1 where one exists). Peers (``.venv-compare``,
see ``benchmarks/peers.py``): rejax PPO, stable-baselines3 PPO, sb3-contrib TRPO (rl-zoo3
CartPole-v1 hyperparameters), raw gymnax random-action stepping. Each peer runs in a
subprocess, one at a time, so nothing competes for the 2 cores.

Run: ``python benchmarks/bench_compiled.py [--seeds-scaling]``; writes
``benchmarks/results/compiled.json`` and prints the table (ratios against peers).
``--compile-only``: each recipe's program built in a new process with an empty cache
directory (cold) and again in a second process (warm: the compilation and program caches
filled); writes ``benchmarks/results/compile_times.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from policyopt.configs import make_config
from policyopt.presets import PRESETS
from policyopt.train import run_train

ROOT = Path(__file__).resolve().parents[1]
COMPARE_PY = ROOT / ".venv-compare" / "bin" / "python"


def ours(algo: str, num_seeds: int = 1, seed: int = 0) -> dict:
    kw, budget = PRESETS[(algo, "CartPole-v1")]
    cfg = make_config(algo, env_id="CartPole-v1", total_timesteps=budget, **kw)
    res = run_train(cfg, seed=seed, num_seeds=num_seeds)
    ev = np.asarray(res.output.eval_returns)
    return {
        "name": f"policyopt_{algo}",
        "steps": cfg.num_updates * cfg.rollout_size,
        "num_seeds": num_seeds,
        "compile_seconds": res.compile_seconds,
        "train_seconds": res.run_seconds,
        "wall_seconds": res.compile_seconds + res.run_seconds,
        "steps_per_second": res.steps_per_second,
        "eval_mean_return": float(ev.mean()),
        "eval_std_return": float(ev.std()),
        "solved": bool(ev.mean() >= 475),
    }


COMPILE_CHILD = """
import json, sys
from policyopt import program_cache
from policyopt.configs import make_config
from policyopt.presets import PRESETS
from policyopt.train import run_train
kw, budget = PRESETS[(sys.argv[1], "CartPole-v1")]
res = run_train(make_config(sys.argv[1], env_id="CartPole-v1", total_timesteps=budget, **kw))
print(json.dumps({"compile_seconds": res.compile_seconds, "hits": program_cache.STATS.hits}))
"""


def compile_times(algo: str) -> dict:
    """Build time of the training program in a new process: cold (an empty cache directory,
    the first run after install) and warm (a second process, the caches filled)."""
    import os

    cache = tempfile.mkdtemp(prefix="bench_compile_")
    env = {**os.environ, "POLICYOPT_CACHE_DIR": cache}
    out = {}
    for kind in ("cold", "warm"):
        proc = subprocess.run(
            [sys.executable, "-c", COMPILE_CHILD, algo],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        out[f"{kind}_compile_seconds"] = row["compile_seconds"]
        out[f"{kind}_program_cache_hits"] = row["hits"]
    return {"name": f"policyopt_{algo}_compile", **out}


def peer(name: str, timesteps: int) -> dict:
    if not COMPARE_PY.exists():
        return {"name": name, "skipped": f"{COMPARE_PY} missing (see benchmarks/peers.py)"}
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [
            str(COMPARE_PY),
            "-m",
            "benchmarks.peers",
            "--only",
            name,
            "--timesteps",
            str(timesteps),
            "--out",
            out.name,
        ]
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
        res = json.loads(Path(out.name).read_text())[0]
    res["wall_seconds"] = res.get("compile_seconds", 0.0) + res["train_seconds"]
    return res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--seeds-scaling", action="store_true", help="also time 16 vmapped seeds vs 1"
    )
    parser.add_argument(
        "--compile-only",
        action="store_true",
        help="only cold and warm build times per recipe (new processes, fresh cache)",
    )
    args = parser.parse_args()
    algos = ("ppo", "trpo", "npg", "mdpo", "ppo_kl", "pg", "adaptive_trpo")
    if args.compile_only:
        times = [compile_times(a) for a in algos]
        out = ROOT / "benchmarks" / "results" / "compile_times.json"
        doc = {
            "command": "python benchmarks/bench_compiled.py --compile-only",
            "date": time.strftime("%Y-%m-%d"),
            "jax": jax.__version__,
            "rows": times,
        }
        out.write_text(json.dumps(doc, indent=2) + "\n")
        for r in times:
            print(f"{r['name']:32s} cold {r['cold_compile_seconds']:6.2f} s   "
                  f"warm {r['warm_compile_seconds']:5.2f} s")  # fmt: skip
        return
    rows = [ours(a) for a in algos]
    rows += [
        peer("rejax_ppo", 100_000),
        peer("sb3_ppo", 100_000),
        peer("sb3_trpo", 100_000),
        peer("gymnax_random_steps", 0),
    ]
    by = {r["name"]: r for r in rows}
    ratios = {}
    if "steps_per_second" in by.get("rejax_ppo", {}):
        ratios["ppo_sps_over_rejax"] = (
            by["policyopt_ppo"]["steps_per_second"] / by["rejax_ppo"]["steps_per_second"]
        )
    for a in ("trpo", "npg", "mdpo"):
        ratios[f"{a}_sps_over_our_ppo"] = (
            by[f"policyopt_{a}"]["steps_per_second"] / by["policyopt_ppo"]["steps_per_second"]
        )
    if "train_seconds" in by.get("sb3_ppo", {}):
        for r in rows:
            if r["name"].startswith("policyopt_"):
                ratios[f"{r['name'][10:]}_wall_over_sb3_ppo"] = (
                    r["wall_seconds"] / by["sb3_ppo"]["wall_seconds"]
                )
                ratios[f"{r['name'][10:]}_run_over_sb3_ppo"] = (
                    r["train_seconds"] / by["sb3_ppo"]["wall_seconds"]
                )
    if "steps_per_second" in by.get("gymnax_random_steps", {}):
        ratios["ppo_sps_over_raw_gymnax"] = (
            by["policyopt_ppo"]["steps_per_second"] / by["gymnax_random_steps"]["steps_per_second"]
        )
    if args.seeds_scaling:
        one, sixteen = ours("ppo", 1), ours("ppo", 16)
        rows += [sixteen]
        ratios["ppo_16_seeds_run_time_over_1_seed"] = (
            sixteen["train_seconds"] / one["train_seconds"]
        )
        ratios["ppo_16_seeds_wall_over_1_seed"] = sixteen["wall_seconds"] / one["wall_seconds"]
    result = {
        "command": "python benchmarks/bench_compiled.py"
        + (" --seeds-scaling" if args.seeds_scaling else ""),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "jax": jax.__version__,
            "device": str(jax.devices()[0]),
            "cpus": 2,
        },
        "rows": rows,
        "ratios": ratios,
    }
    out = ROOT / "benchmarks" / "results" / "compiled.json"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)
    head = ("name", "steps", "compile s", "train s", "steps/s", "eval")
    print(f"{head[0]:28s} {head[1]:>8s} {head[2]:>9s} {head[3]:>8s} {head[4]:>10s} {head[5]:>7s}")
    for r in rows:
        if "skipped" in r:
            print(f"{r['name']:28s} skipped: {r['skipped']}")
            continue
        ev = r.get("eval_mean_return")
        comp = r.get("compile_seconds", 0)
        print(
            f"{r['name']:28s} {r['steps']:8d} {comp:9.2f} {r['train_seconds']:8.2f} "
            f"{r['steps_per_second']:10,.0f} {'' if ev is None else f'{ev:7.1f}'}"
        )
    for k, v in ratios.items():
        print(f"{k:40s} {v:8.3f}")


if __name__ == "__main__":
    main()
