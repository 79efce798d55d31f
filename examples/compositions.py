"""Compositions no other library offers, next to the named rows: one exact MDP, one deep env.

    python examples/compositions.py [--out docs/compositions] [--seeds 4] [--steps 100000]

Writes ``compositions_exact.png``/``.svg`` (f − f* per iteration on a 25-state chain, γ = 0.99,
cost) and ``compositions_deep.png``/``.svg`` (CartPole-v1, mean return of the last 100
training episodes with a 95% bootstrap band over seeds, reward), and ``compositions.json`` with
every number the README quotes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

# (label, named recipe or composition, fields)
EXACT = [
    ("trpo", "trpo", {"delta": 0.05}),
    ("npg", "npg", {"beta": 0.1}),
    ("mdpo", "mdpo", {}),
    ("ppo", "ppo", {}),
    ("TRPO, reverse KL", "ratio/kl_reverse:constraint/natural_linesearch", {"delta": 0.05}),
    (
        "clipped surrogate, natural step ≤ δ",
        "clipped_ratio/kl_forward:constraint/natural",
        {"delta": 0.05},
    ),
    ("PPO-KL, fixed β, Adam", "ratio/kl_forward:fixed/first_order", {"beta": 0.1}),
    ("MDPO's proximity, natural step", "ratio/kl_reverse:annealed/natural", {}),
]

_CRITIC_CARTPOLE = {
    "num_envs": 8,
    "num_steps": 256,
    "vf_batch_size": 256,
    "vf_epochs": 10,
    "gae_lambda": 0.98,
}
_NATURAL_CARTPOLE = {**_CRITIC_CARTPOLE, "damping": 1e-3}
_FIRST_ORDER_CARTPOLE = {
    "num_envs": 8,
    "num_steps": 256,
    "batch_size": 256,
    "n_epochs": 10,
    "learning_rate": 1e-3,
    "gae_lambda": 0.98,
}
DEEP = [
    ("trpo", "trpo", {**_NATURAL_CARTPOLE, "delta": 0.02}),
    ("ppo", "ppo", _FIRST_ORDER_CARTPOLE),
    ("ppo_kl", "ppo_kl", _FIRST_ORDER_CARTPOLE),
    ("mdpo", "mdpo", {**_CRITIC_CARTPOLE, "learning_rate": 1e-3}),
    (
        "TRPO, reverse KL",
        "ratio/kl_reverse:constraint/natural_linesearch",
        {**_NATURAL_CARTPOLE, "delta": 0.02},
    ),
    (
        "clipped surrogate, natural step ≤ δ",
        "clipped_ratio/kl_forward:constraint/natural",
        {**_NATURAL_CARTPOLE, "delta": 0.02},
    ),
    (
        "PPO-KL, fixed β",
        "ratio/kl_forward:fixed/first_order",
        {**_FIRST_ORDER_CARTPOLE, "beta": 1.0},
    ),
    (
        "MDPO's proximity, natural step",
        "ratio/kl_reverse:annealed/natural",
        {**_NATURAL_CARTPOLE, "t_init": 0.5},
    ),
]


def run_exact(out: Path) -> dict:
    from policyopt import tabular as T
    from policyopt.composition import parse_recipe

    mdp = T.chain(25, gamma=0.99)
    opt = T.optimal(mdp)
    results = {}
    for label, recipe, fields in EXACT:
        name, comp = parse_recipe(recipe)
        h = T.run(mdp, T.make_config(name, **comp, **fields), 150, optimum=opt)
        results[label] = {
            "recipe": recipe,
            "fields": fields,
            "gap": h.gap.tolist(),
            "iterations_to_1e-6": h.iterations_to(1e-6),
        }
    return results


def run_deep(seeds: int, steps: int) -> dict:
    import jax

    from policyopt.composition import parse_recipe
    from policyopt.configs import make_config
    from policyopt.train import make_train

    results = {}
    for label, recipe, fields in DEEP:
        name, comp = parse_recipe(recipe)
        cfg = make_config(name, env_id="CartPole-v1", total_timesteps=steps, **comp, **fields)
        t0 = time.perf_counter()
        out = jax.jit(jax.vmap(make_train(cfg)))(jax.random.split(jax.random.PRNGKey(0), seeds))
        curve = np.asarray(out.metrics["rollout/ep_rew_mean"])
        kl = np.asarray(out.metrics["train/kl_forward"])
        results[label] = {
            "recipe": recipe,
            "fields": fields,
            "steps": (np.arange(1, curve.shape[1] + 1) * cfg.rollout_size).tolist(),
            "return": curve.tolist(),
            "kl_forward": kl.tolist(),
            "eval_mean": float(np.mean(out.eval_returns)),
            "eval_per_seed": np.asarray(out.eval_returns).mean(axis=1).tolist(),
            "wall_s": time.perf_counter() - t0,
        }
        print(
            f"{label:40s} eval {results[label]['eval_mean']:7.1f}  "
            f"median KL {np.median(kl):.4f}  {results[label]['wall_s']:.0f} s"
        )
    return results


def plot(exact: dict, deep: dict, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from policyopt.plots import bootstrap_ci

    paths = []
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (label, r) in enumerate(exact.items()):
        ax.semilogy(np.maximum(r["gap"], 1e-16), label=label, ls="-" if i < 4 else "--")
    ax.set(xlabel="iteration", ylabel="f(π_k) − f*  (cost)", title="chain(25), γ = 0.99, exact")
    ax.legend(fontsize=7)
    fig.tight_layout()
    for ext in ("png", "svg"):
        paths.append(out / f"compositions_exact.{ext}")
        fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, (label, r) in enumerate(deep.items()):
        x = np.asarray(r["steps"])
        ls = "-" if i < 4 else "--"
        for ax, key in zip(axes, ("return", "kl_forward"), strict=True):
            y = np.asarray(r[key], dtype=float)
            mean = np.nanmean(y, axis=0)
            lo, hi = bootstrap_ci(y)
            ax.plot(x, mean, ls=ls, label=label)
            ax.fill_between(x, lo, hi, alpha=0.15)
    axes[0].set(
        xlabel="environment steps",
        ylabel="return (reward), last 100 episodes",
        title="CartPole-v1, compiled, 95% bootstrap band",
    )
    axes[1].set(
        xlabel="environment steps",
        ylabel="KL(π_k‖π_k+1) per update",
        yscale="log",
        title="how far each update moved",
    )
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    for ext in ("png", "svg"):
        paths.append(out / f"compositions_deep.{ext}")
        fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/compositions"))
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=100_000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    exact = run_exact(args.out)
    deep = run_deep(args.seeds, args.steps)
    paths = plot(exact, deep, args.out)
    summary = {
        "exact": {
            k: {
                "recipe": v["recipe"],
                "iterations_to_1e-6": v["iterations_to_1e-6"],
                "final_gap": v["gap"][-1],
            }
            for k, v in exact.items()
        },
        "deep": {
            k: {kk: v[kk] for kk in ("recipe", "fields", "eval_mean", "eval_per_seed", "wall_s")}
            | {"median_kl": float(np.median(v["kl_forward"]))}
            for k, v in deep.items()
        },
        "seeds": args.seeds,
        "steps": args.steps,
    }
    (args.out / "compositions.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps(summary["exact"], indent=1))
    print("wrote", ", ".join(map(str, paths)))


if __name__ == "__main__":
    main()
