"""Direction quality of the natural-gradient solvers against the dense solve (§8.1).

    python benchmarks/bench_natural.py [--budgets 1,2,5,10,20,40]

On a 2×32 policy (CartPole-v1: 1,282 parameters; Pendulum-v1: 1,218) and a rollout of a
briefly trained PPO policy (so F is not the near-uniform initial one), computes the exact damped
direction (F + λI)⁻¹g by ``dense`` and, per budget k, the cosine and relative error
‖d − d*‖/‖d*‖ of ``cg`` (k iterations), ``krylov`` (dimension k) and ``hessian_free`` (k CG
iterations; its damping adaptation happens across updates, so one solve is CG's), plus the
time per solve. Writes ``benchmarks/results/natural.json`` and prints the table.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--budgets", default="1,2,5,10,20,40")
    parser.add_argument("--damping", type=float, default=0.1)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/natural.json")
    args = parser.parse_args()
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
