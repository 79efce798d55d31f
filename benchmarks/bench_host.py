"""Host training on LunarLander-v3 against stable-baselines3, in one run on one machine.

Rows (each in its own subprocess, one at a time, so peak memory is per run and nothing
competes for the cores):

* ``policyopt_ppo`` × seeds: :class:`policyopt.Agent` PPO with the ``policyopt.presets``
  entry, which is rl-zoo3's LunarLander-v3 one (16 envs × 1024 steps, minibatch 64,
  4 epochs, γ 0.999, λ 0.98, entropy 0.01), 1e6 steps; EnvPool backend (auto).
* ``sb3_ppo``: stable-baselines3 PPO, the same settings
  (:func:`policyopt.experiments.paper.sb3_equivalent`), ``make_vec_env`` (DummyVecEnv).
* ``policyopt_trpo`` × seeds / ``sb3_trpo`` × seeds: rl-zoo3's sb3-contrib TRPO entry
  (2 envs × 512 steps, γ 0.99, λ 0.98, 15 critic epochs of minibatch 128 at 1e-3,
  CG damping 0.01, δ = target_kl 0.01), 2e5 steps.
* ``raw_gymnasium`` / ``raw_envpool``: uniform random actions, 16 envs, no learning.

Throughput: ``steps_per_second`` is steps over the whole wall time (Agent creation and JIT
compilation included); ``steady_steps_per_second`` excludes the first update (compilation),
which is what "training throughput vs raw stepping" compares.

Evaluation: 20 deterministic episodes on Gymnasium's ``LunarLander-v3`` through SB3's
``evaluate_policy`` for every learner (ours included: ``Agent.predict`` has SB3's signature),
so the protocol is identical. SB3 runs on the CPU with one torch thread (its fastest setting
for 64×64 MLPs here). ``wall_seconds`` includes JAX compilation for ours.

Run: ``python benchmarks/bench_host.py [--quick]``; writes ``benchmarks/results/host.json``.
``--quick`` (1/20 of the steps, 1 seed) checks the harness in a few minutes.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ENV_ID = "LunarLander-v3"
EVAL_EPISODES = 20


def config(algo: str, steps: int) -> Any:
    """Our preset (rl-zoo3's LunarLander-v3 entry) as a validated config."""
    from policyopt.configs import make_config
    from policyopt.presets import preset

    return make_config(algo, env_id=ENV_ID, total_timesteps=steps, **preset(algo, ENV_ID)[0])


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sb3_eval(model: Any, seed: int) -> list[float]:
    import gymnasium as gym
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    env = Monitor(gym.make(ENV_ID))
    env.reset(seed=10_000 + seed)
    returns, _ = evaluate_policy(
        model, env, n_eval_episodes=EVAL_EPISODES, deterministic=True, return_episode_rewards=True
    )
    env.close()
    return [float(r) for r in returns]


def run_ours(algo: str, steps: int, seed: int) -> dict[str, Any]:
    from policyopt import Agent
    from policyopt.presets import preset

    kw, _ = preset(algo, ENV_ID)
    t0 = time.perf_counter()
    agent = Agent(algo, ENV_ID, seed=seed, **kw)
    stamps: list[float] = []
    agent.learn(steps, callback=lambda m: stamps.append(time.perf_counter()) and None)
    wall = time.perf_counter() - t0
    # steady state: after the first update (which includes JIT compilation)
    steady = (len(stamps) - 1) * agent.config.rollout_size / (stamps[-1] - stamps[0])
    returns = _sb3_eval(agent, seed)
    return {
        "name": f"policyopt_{algo}",
        "seed": seed,
        "backend": agent.trainer.backend,
        "steps": agent.num_timesteps,
        "wall_seconds": wall,
        "eval_returns": returns,
        "final_ep_rew_mean": agent.history[-1]["rollout/ep_rew_mean"],
        "steady_steps_per_second": steady,
    }


def run_sb3(algo: str, steps: int, seed: int) -> dict[str, Any]:
    import torch
    from stable_baselines3.common.env_util import make_vec_env

    from policyopt.experiments.paper import sb3_equivalent

    torch.set_num_threads(1)
    cfg = config(algo, steps)
    algo_cls, kw = sb3_equivalent(cfg)
    n_envs = cfg.num_envs
    t0 = time.perf_counter()
    env = make_vec_env(ENV_ID, n_envs=n_envs, seed=seed)
    model = algo_cls("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **kw)
    model.learn(total_timesteps=steps)
    wall = time.perf_counter() - t0
    env.close()
    return {
        "name": f"sb3_{algo}",
        "seed": seed,
        "steps": int(model.num_timesteps),
        "wall_seconds": wall,
        "eval_returns": _sb3_eval(model, seed),
        "torch_threads": 1,
    }


def run_raw(backend: str, steps: int, seed: int) -> dict[str, Any]:
    import numpy as np

    from policyopt.envs.host_env import make_host_env

    n = 16
    envs = make_host_env(ENV_ID, n, backend)
    envs.reset(seed)
    actions = np.random.default_rng(seed).integers(0, 4, size=(steps // n, n)).astype(np.int32)
    t0 = time.perf_counter()
    for a in actions:
        envs.step(a)
    wall = time.perf_counter() - t0
    envs.close()
    return {"name": f"raw_{backend}", "steps": steps, "wall_seconds": wall, "num_envs": n}


def child(kind: str, algo: str, steps: int, seed: int) -> None:
    fn = {"ours": run_ours, "sb3": run_sb3, "raw": run_raw}[kind]
    res = fn(algo, steps, seed)
    res["steps_per_second"] = res["steps"] / res["wall_seconds"]
    res["peak_rss_mb"] = _peak_rss_mb()
    if "eval_returns" in res:
        res["eval_mean_return"] = sum(res["eval_returns"]) / len(res["eval_returns"])
    print("RESULT " + json.dumps(res), flush=True)


def spawn(kind: str, algo: str, steps: int, seed: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, algo, str(steps), str(seed)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[7:])
            print(json.dumps({k: v for k, v in res.items() if k != "eval_returns"}), flush=True)
            return res
    raise RuntimeError(f"{cmd} failed:\n{proc.stderr[-3000:]}")


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=4, metavar=("KIND", "ALGO", "STEPS", "SEED"))
    parser.add_argument("--quick", action="store_true", help="1/20 of the steps, 1 seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sb3-seeds", type=int, default=1, help="SB3 PPO seeds (TRPO: --seeds)")
    args = parser.parse_args()
    if args.child:
        kind, algo, steps, seed = args.child
        child(kind, algo, int(steps), int(seed))
        return
    scale, seeds = (20, 1) if args.quick else (1, args.seeds)
    ppo_steps, trpo_steps = 1_000_000 // scale, 200_000 // scale
    rows = [spawn("raw", b, 200_000 // scale, 0) for b in ("sync", "envpool")]
    rows += [spawn("ours", "ppo", ppo_steps, s) for s in range(seeds)]
    rows += [spawn("sb3", "ppo", ppo_steps, s) for s in range(min(args.sb3_seeds, seeds))]
    rows += [spawn("ours", "trpo", trpo_steps, s) for s in range(seeds)]
    rows += [spawn("sb3", "trpo", trpo_steps, s) for s in range(seeds)]

    def group(name: str) -> list[dict[str, Any]]:
        return [r for r in rows if r["name"] == name]

    summary = {}
    for name in ("policyopt_ppo", "sb3_ppo", "policyopt_trpo", "sb3_trpo"):
        g = group(name)
        summary[name] = {
            "seeds": len(g),
            "wall_seconds_mean": _mean(g, "wall_seconds"),
            "eval_mean_return": _mean(g, "eval_mean_return"),
            "eval_mean_return_per_seed": [r["eval_mean_return"] for r in g],
            "steps_per_second_mean": _mean(g, "steps_per_second"),
            "steady_steps_per_second_mean": _mean(g, "steady_steps_per_second")
            if "steady_steps_per_second" in g[0]
            else None,
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in g),
        }
    raw = {r["name"]: r["steps_per_second"] for r in group("raw_sync") + group("raw_envpool")}
    ppo, trpo = summary["policyopt_ppo"], summary["policyopt_trpo"]
    ratios = {
        "ppo_wall_over_sb3_ppo": ppo["wall_seconds_mean"] / summary["sb3_ppo"]["wall_seconds_mean"],
        "trpo_wall_over_sb3_trpo": trpo["wall_seconds_mean"]
        / summary["sb3_trpo"]["wall_seconds_mean"],
        "ppo_sps_over_raw_envpool": ppo["steps_per_second_mean"] / raw["raw_envpool"],
        "ppo_steady_sps_over_raw_envpool": ppo["steady_steps_per_second_mean"] / raw["raw_envpool"],
        "ppo_sps_over_raw_gymnasium": ppo["steps_per_second_mean"] / raw["raw_sync"],
        "trpo_sps_over_raw_envpool": trpo["steps_per_second_mean"] / raw["raw_envpool"],
        "ppo_sps_over_sb3_ppo": ppo["steps_per_second_mean"]
        / summary["sb3_ppo"]["steps_per_second_mean"],
    }
    targets = {
        "ppo_eval_>=200_every_seed": all(v >= 200 for v in ppo["eval_mean_return_per_seed"]),
        "ppo_wall_<=_0.1_sb3": ratios["ppo_wall_over_sb3_ppo"] <= 0.1,
        "ppo_steady_throughput_>=_0.5_raw_envpool": ratios["ppo_steady_sps_over_raw_envpool"]
        >= 0.5,
        "trpo_return_>=_sb3": trpo["eval_mean_return"] >= summary["sb3_trpo"]["eval_mean_return"],
        "trpo_wall_<=_0.2_sb3": ratios["trpo_wall_over_sb3_trpo"] <= 0.2,
    }
    import jax
    import stable_baselines3

    result = {
        "command": "python benchmarks/bench_host.py" + (" --quick" if args.quick else ""),
        "date": time.strftime("%Y-%m-%d"),
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "jax": jax.__version__,
            "stable_baselines3": stable_baselines3.__version__,
            "cpus": 2,
        },
        "rows": rows,
        "summary": summary,
        "raw_steps_per_second": raw,
        "ratios": ratios,
        "targets_met": targets,
    }
    out = ROOT / "benchmarks" / "results" / ("host_quick.json" if args.quick else "host.json")
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(out)
    print(
        f"\n{'run':16s} {'seeds':>5s} {'wall s':>8s} {'steps/s':>9s} {'eval':>7s} {'peak MB':>8s}"
    )
    for name, s in summary.items():
        print(
            f"{name:16s} {s['seeds']:5d} {s['wall_seconds_mean']:8.1f} "
            f"{s['steps_per_second_mean']:9,.0f} {s['eval_mean_return']:7.1f} "
            f"{s['peak_rss_mb_max']:8.0f}"
        )
    for k, v in raw.items():
        print(f"{k:16s} raw steps/s {v:,.0f}")
    for k, v in ratios.items():
        print(f"{k:32s} {v:7.3f}")
    for k, v in targets.items():
        print(f"target {k:34s} {'met' if v else 'NOT met'}")


if __name__ == "__main__":
    main()
