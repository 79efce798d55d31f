"""Throughput of the compiled loop as the number of parallel environments grows.

The same script gives the CPU curve here and the GPU curve on a CUDA machine (nothing in
the compiled path is CPU-only): PPO on a gymnax environment with ``num_envs`` from 8 to
4096 (rollout ``num_envs × 128`` steps, 4 epochs of 4 minibatches), and raw gymnax
random-action stepping at the same ``num_envs`` as the environment's own limit. Compilation
is timed separately and excluded from steps/s.

    python benchmarks/bench_scaling.py [--env CartPole-v1] [--num-envs 8 32 128 512]
        [--updates 10] [--out benchmarks/results/scaling_cpu.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from policyopt.configs import make_config
from policyopt.train import make_train

ROOT = Path(__file__).resolve().parents[1]


def train_throughput(env_id: str, num_envs: int, updates: int, num_steps: int) -> dict:
    rollout = num_envs * num_steps
    cfg = make_config(
        "ppo",
        env_id=env_id,
        num_envs=num_envs,
        num_steps=num_steps,
        total_timesteps=rollout * updates,
        batch_size=rollout // 4,
        n_epochs=4,
        eval_episodes=1,
    )
    fn = jax.jit(make_train(cfg))
    key = jax.random.PRNGKey(0)
    t0 = time.perf_counter()
    compiled = fn.lower(key).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(key))  # warm-up (first call allocates)
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(jax.random.PRNGKey(1)))
    run_s = time.perf_counter() - t0
    steps = cfg.num_updates * rollout
    return {"compile_s": compile_s, "run_s": run_s, "steps": steps, "steps_per_s": steps / run_s}


def env_throughput(env_id: str, num_envs: int, num_steps: int = 1000) -> float:
    """Random-action stepping of the same gymnax env, in one jitted scan (steps/s)."""
    from policyopt.envs import make_jax_env

    env = make_jax_env(env_id)
    spec = env.action_spec

    def run(key: jax.Array) -> jax.Array:
        _obs, state = env.reset(key, num_envs)

        def body(carry, k):
            state, total = carry
            if spec.discrete:
                a = jax.random.randint(k, (num_envs,), 0, spec.n)
            else:
                a = jax.random.uniform(k, (num_envs, spec.n), minval=-1.0, maxval=1.0)
            out = env.step(k, state, a)
            return (out.state, total + out.reward.sum()), None

        keys = jax.random.split(key, num_steps)
        (_, total), _ = jax.lax.scan(body, (state, jnp.float32(0)), keys)
        return total

    fn = jax.jit(run).lower(jax.random.PRNGKey(0)).compile()
    jax.block_until_ready(fn(jax.random.PRNGKey(0)))
    t0 = time.perf_counter()
    jax.block_until_ready(fn(jax.random.PRNGKey(1)))
    return num_envs * num_steps / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--env", default="CartPole-v1")
    p.add_argument("--num-envs", type=int, nargs="+", default=[8, 32, 128, 512])
    p.add_argument("--updates", type=int, default=10)
    p.add_argument("--num-steps", type=int, default=128)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    device = jax.devices()[0]
    rows = []
    for n in args.num_envs:
        row = {"num_envs": n, **train_throughput(args.env, n, args.updates, args.num_steps)}
        row["env_steps_per_s"] = env_throughput(args.env, n)
        row["ratio_to_env"] = row["steps_per_s"] / row["env_steps_per_s"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = {
        "device": f"{device.platform}: {device.device_kind}",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "env": args.env,
        "algo": "ppo",
        "num_steps": args.num_steps,
        "updates": args.updates,
        "rows": rows,
    }
    path = args.out or ROOT / "benchmarks" / "results" / f"scaling_{device.platform}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
