"""Direction quality of the natural-gradient solvers against the dense solve (§8.1).

    python benchmarks/bench_natural.py [--budgets 1,2,5,10,20,40]
    python benchmarks/bench_natural.py --learning [--seeds 5]

On a 2×32 policy (CartPole-v1: 1,282 parameters; Pendulum-v1: 1,218) and a rollout of a
briefly trained PPO policy (so F is not the near-uniform initial one), computes the exact damped
direction (F + λI)⁻¹g by ``dense`` and, per budget k, the cosine and relative error
‖d − d*‖/‖d*‖ of ``cg`` (k iterations), ``krylov`` (dimension k) and ``hessian_free`` (k CG
iterations; its damping adaptation happens across updates, so one solve is CG's), plus the
time per solve. Writes ``benchmarks/results/natural.json`` and prints the table.

``--learning``: NPG and TRPO with each solver (``dense`` on CartPole only: one solve costs
about a second on 2 CPU cores) on CartPole-v1, Acrobot-v1 and Pendulum-v1, 5 vmapped seeds,
and ACKTR against our A2C and PPO on the same; mean return of the last 100 training episodes
with 95% bootstrap bands, final deterministic evaluation and wall time per update, all in one
run. Writes ``benchmarks/results/natural_learning.json`` and ``docs/natural/learning.png``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from policyopt.algorithms import divergence, surrogate_loss
from policyopt.configs import make_config
from policyopt.divergences import fisher_vector_product
from policyopt.solvers.directions import natural_direction
from policyopt.train import make_train

ROOT = Path(__file__).resolve().parents[1]


def rollout_problem(env_id: str, seed: int = 0):
    """A PPO policy (2×32) after 5 updates, and 8 × 256 steps of it: obs, actions, log π, Â.

    Â are GAE advantages of that rollout under the trained critic, so g is a real policy
    gradient and F the Fisher of a policy that has started to learn.
    """
    from policyopt.algorithms import Transition, make_batch
    from policyopt.envs.jax_env import make_jax_env
    from policyopt.nn import make_networks

    cfg = make_config("ppo", env_id=env_id, hidden_sizes=(32, 32), num_envs=8, num_steps=256,
                      batch_size=256, total_timesteps=8 * 256 * 5)  # fmt: skip
    out = jax.jit(make_train(cfg))(jax.random.PRNGKey(seed))
    env = make_jax_env(env_id)
    nets = make_networks(env.action_spec, cfg.hidden_sizes, cfg.activation)
    actor, critic = out.learner.actor, out.learner.critic

    def step(carry, key):
        obs, state = carry
        k_act, k_env = jax.random.split(key)
        dist = nets.policy(actor, obs)
        action = dist.sample(k_act)
        res = env.step(k_env, state, action)
        tr = Transition(obs, action, dist.log_prob(action), nets.value(critic, obs), res.reward,
                        res.terminated, res.terminated | res.truncated, res.final_obs)  # fmt: skip
        return (res.obs, res.state), tr

    key = jax.random.PRNGKey(seed + 1)
    obs, state = env.reset(key, 8)
    _, traj = jax.lax.scan(step, (obs, state), jax.random.split(key, 256))
    hp = {"gamma": jnp.float32(cfg.gamma), "gae_lambda": jnp.float32(cfg.gae_lambda)}
    return nets, actor, make_batch(nets, critic, traj, hp)


SOLVERS = ("cg", "krylov", "hessian_free", "kfac", "dense")
ENVS = {  # steps per seed, and the settings every natural run shares on that env
    "CartPole-v1": (100_000, {"num_envs": 8, "num_steps": 256, "vf_batch_size": 256,
                              "vf_epochs": 10, "gae_lambda": 0.98, "damping": 1e-3}),
    "Acrobot-v1": (100_000, {"num_envs": 8, "num_steps": 256, "vf_batch_size": 256,
                             "vf_epochs": 10, "gae_lambda": 0.98, "damping": 1e-3}),
    "Pendulum-v1": (200_000, {"num_envs": 2, "num_steps": 1024, "gamma": 0.9,
                              "vf_epochs": 15, "vf_batch_size": 128}),
}  # fmt: skip


def learning(seeds: int) -> dict:
    from policyopt.presets import preset

    results: dict = {}
    runs = []
    for env_id, (steps, shared) in ENVS.items():
        for algo in ("npg", "trpo"):
            for solver in SOLVERS:
                if solver == "dense" and env_id != "CartPole-v1":
                    continue
                kw = {**shared, "fisher_solver": solver, "hidden_sizes": (32, 32)}
                if algo == "npg":
                    kw["step_rule"] = "trust_region"  # the same δ as TRPO: only the solver differs
                runs.append((env_id, f"{algo}/{solver}", algo, kw, steps))
        for algo in ("acktr", "pg", "ppo"):
            kw, _ = preset(algo, env_id)
            if algo == "acktr":
                kw = {**shared, "delta": 0.01, "hidden_sizes": (32, 32)}
            runs.append((env_id, algo, algo, {**kw, "hidden_sizes": (32, 32)}, steps))
    partial = ROOT / "benchmarks/results/natural_learning.partial.json"
    done = json.loads(partial.read_text()) if partial.exists() else {}
    for env_id, label, algo, kw, steps in runs:
        key = f"{env_id}/{label}"
        if key not in done:
            if algo == "acktr":  # K-FAC under vmap can hang on XLA:CPU (README): one per seed
                rows = [_run_isolated(env_id, algo, kw, steps, 1, s) for s in range(seeds)]
                done[key] = _stack(rows)
            else:
                done[key] = _run_isolated(env_id, algo, kw, steps, seeds)
            partial.write_text(json.dumps(done))
        row = {"label": label, **done[key]}
        results.setdefault(env_id, []).append(row)
        print(f"{env_id:12s} {label:18s} eval {row['eval_mean']:8.1f}  "
              f"{1e3 * row['seconds_per_update']:8.1f} ms/update", flush=True)  # fmt: skip
    partial.unlink()
    return results


def _stack(rows: list[dict]) -> dict:
    """Single-seed results as one multi-seed result (curves stacked, times averaged)."""
    return {
        "steps": rows[0]["steps"],
        "return": [r["return"][0] for r in rows],
        "eval_per_seed": [r["eval_per_seed"][0] for r in rows],
        "eval_mean": float(np.mean([r["eval_per_seed"][0] for r in rows])),
        "seconds_per_update": float(np.mean([r["seconds_per_update"] for r in rows])),
        "compile_seconds": float(np.mean([r["compile_seconds"] for r in rows])),
        "one_process_per_seed": True,
    }


def _run_isolated(env_id: str, algo: str, kw: dict, steps: int, seeds: int, seed: int = 0) -> dict:
    """One configuration in a fresh process, retried twice after a timeout.

    XLA:CPU sometimes deadlocks in a long-lived process that compiles many vmapped programs
    (see ``policyopt/__init__.py``); a hung run is killed and repeated rather than stalling
    the whole comparison. Results are cached, so a killed benchmark resumes where it stopped.
    """
    import subprocess
    import sys

    spec = json.dumps({"env_id": env_id, "algo": algo, "kw": kw, "steps": steps,
                       "seeds": seeds, "seed": seed})  # fmt: skip
    for attempt in range(3):
        try:
            out = subprocess.run([sys.executable, __file__, "--one", spec], capture_output=True,
                                 text=True, timeout=300, check=True)  # fmt: skip
            return json.loads(out.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            print(f"  {env_id} {algo}: timed out (attempt {attempt + 1}), retrying", flush=True)
    raise RuntimeError(f"{env_id} {algo} {kw} hung three times")


def _one(spec_json: str) -> None:
    from policyopt.train import run_train

    spec = json.loads(spec_json)
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in spec["kw"].items()}
    cfg = make_config(spec["algo"], env_id=spec["env_id"], total_timesteps=spec["steps"], **kw)
    res = run_train(cfg, seed=spec.get("seed", 0), num_seeds=spec["seeds"])
    curve = np.asarray(res.output.metrics["rollout/ep_rew_mean"], dtype=float)
    ev = np.asarray(res.output.eval_returns).mean(axis=1)
    print(json.dumps({
        "steps": (np.arange(1, curve.shape[1] + 1) * cfg.rollout_size).tolist(),
        "return": curve.tolist(),
        "eval_per_seed": ev.tolist(),
        "eval_mean": float(ev.mean()),
        "seconds_per_update": res.run_seconds / cfg.num_updates,
        "compile_seconds": res.compile_seconds,
    }))  # fmt: skip


def plot_learning(results: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from policyopt.plots import bootstrap_ci

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2))
    for ax, (env_id, rows) in zip(np.atleast_1d(axes), results.items(), strict=True):
        for row in rows:
            y = np.asarray(row["return"], dtype=float)
            x = np.asarray(row["steps"])
            ls = "-" if row["label"].startswith("trpo") else "--" if "/" in row["label"] else ":"
            ax.plot(x, np.nanmean(y, axis=0), ls=ls, label=row["label"])
            lo, hi = bootstrap_ci(y)
            ax.fill_between(x, lo, hi, alpha=0.12)
        ax.set(title=f"{env_id} (reward), 95% bootstrap band", xlabel="environment steps",
               ylabel="return, last 100 episodes")  # fmt: skip
        ax.legend(fontsize=6)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "learning.png"
    fig.savefig(path, dpi=110)
    fig.savefig(out / "learning.svg")
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budgets", default="1,2,5,10,20,40")
    parser.add_argument("--damping", type=float, default=0.1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/natural.json")
    parser.add_argument("--learning", action="store_true")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(args.one)
        return
    if args.learning:
        results = learning(args.seeds)
        path = plot_learning(results, ROOT / "docs/natural")
        out = ROOT / "benchmarks/results/natural_learning.json"
        summary = {env: [{k: v for k, v in r.items() if k not in ("return", "steps")}
                         for r in rows] for env, rows in results.items()}  # fmt: skip
        out.write_text(json.dumps({"seeds": args.seeds, "results": summary}, indent=1) + "\n")
        print(f"wrote {out} and {path}")
        return
    budgets = [int(b) for b in args.budgets.split(",")]
    results = {}
    for env_id in ("CartPole-v1", "Pendulum-v1"):
        results[env_id] = measure(env_id, budgets, args.damping)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"damping": args.damping, "results": results}, indent=1) + "\n")
    print(f"wrote {args.out}")


def measure(env_id: str, budgets: list[int], damping: float) -> dict:
    nets, actor, batch = rollout_problem(env_id)
    adv = (batch.adv - batch.adv.mean()) / (batch.adv.std() + 1e-8)
    hp = {"clip_eps": jnp.float32(0.2)}

    def loss(p):
        return surrogate_loss("ratio", nets.policy(p, batch.obs).log_prob(batch.action),
                              batch.logp, adv, hp)  # fmt: skip

    g = jax.grad(loss)(actor)
    dist_k = jax.tree.map(jax.lax.stop_gradient, nets.policy(actor, batch.obs))
    fisher = fisher_vector_product(
        lambda p: divergence("kl_forward", nets, actor, p, batch.obs, dist_k), actor
    )

    def solve(solver: str, k: int):
        fn = jax.jit(lambda: natural_direction(solver, fisher, g, damping, k, 0.0).d)
        d = jax.block_until_ready(fn())
        t0 = time.perf_counter()
        d = jax.block_until_ready(fn())
        flat = jax.flatten_util.ravel_pytree(d)[0]
        return np.asarray(flat, np.float64), time.perf_counter() - t0

    exact, t_dense = solve("dense", 1)
    rows = []
    for solver in ("cg", "krylov", "hessian_free"):
        for k in budgets:
            d, t = solve(solver, k)
            cos = float(d @ exact / (np.linalg.norm(d) * np.linalg.norm(exact)))
            rel = float(np.linalg.norm(d - exact) / np.linalg.norm(exact))
            rows.append({"solver": solver, "budget": k, "cosine": cos, "rel_error": rel,
                         "seconds": t})  # fmt: skip
            print(f"{env_id:12s} {solver:13s} k={k:3d}  cos {cos:.6f}  rel err {rel:.2e}  "
                  f"{1e3 * t:7.2f} ms")  # fmt: skip
    n = int(exact.size)
    print(f"{env_id:12s} dense ({n} params)  {1e3 * t_dense:7.2f} ms")
    return {"params": n, "dense_seconds": t_dense, "rows": rows}


if __name__ == "__main__":
    main()
