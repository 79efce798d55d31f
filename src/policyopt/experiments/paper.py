"""``policyopt reproduce paper``: the seed paper's three figures and a short report.

* Figure 1: PPO vs TRPO on LunarLander-v3, episodic return (reward) vs environment steps.
* Figure 2: their per-update KL(π_k‖π_{k+1}) and clip fraction (the paper's point: neither is
  constant over training, which is why a fixed β is hard to pick).
* Figure 3: NPG on CartPole-v1.

Every curve is the mean over seeds with a 95% bootstrap band. Settings are the library's
presets (rl-zoo3's LunarLander-v3 entries; TRPO runs the same number of steps as PPO, as in the
paper's figure). ``with_sb3`` adds stable-baselines3 PPO and sb3-contrib TRPO with the same
settings and budget (extra ``sb3``), logged into the same run layout.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from policyopt.errors import ConfigError, check_int
from policyopt.experiments.training import RunSpec, train_run
from policyopt.runs import atomic_write_text, load_metrics, save_run

__all__ = ["BUDGETS", "Budget", "redraw_paper", "reproduce_paper"]


@dataclass(frozen=True)
class Budget:
    """Environment steps per seed of each experiment."""

    lunar_steps: int
    cartpole_steps: int


BUDGETS = {
    "quick": Budget(lunar_steps=150_000, cartpole_steps=100_000),  # < 10 min on 2 cores
    "full": Budget(lunar_steps=1_000_000, cartpole_steps=200_000),  # the paper's scale
}
LUNAR, CARTPOLE = "LunarLander-v3", "CartPole-v1"


def reproduce_paper(
    out_dir: str | Path = "runs/paper",
    budget: str = "quick",
    seeds: int = 5,
    with_sb3: bool = False,
    progress: bool = True,
    log: Any = print,
) -> Path:
    """Train, plot and report; returns the path of ``report.md``."""
    if budget not in BUDGETS:
        raise ConfigError("reproduce", "--budget", f"got {budget!r}; allowed: quick, full")
    check_int("reproduce", "--seeds", seeds, 1)
    if with_sb3:
        try:
            import sb3_contrib  # noqa: F401
            import stable_baselines3  # noqa: F401
        except ImportError as err:
            raise ConfigError(
                "reproduce", "--with-sb3", "needs stable-baselines3: pip install 'policyopt[sb3]'"
            ) from err
    b, out = BUDGETS[budget], Path(out_dir)
    runs: dict[str, Path] = {}
    seconds: dict[str, float] = {}
    plan = [("ppo", LUNAR, b.lunar_steps), ("trpo", LUNAR, b.lunar_steps)]
    plan += [("npg", CARTPOLE, b.cartpole_steps)]
    for algo, env, steps in plan:
        name = f"{algo}-{env}"
        log(f"training {name}: {seeds} seeds × {steps:,} steps")
        t0 = time.perf_counter()
        spec = RunSpec(algo, env, seeds=seeds, steps=steps)
        train_run(spec, out / name, progress=progress, overwrite=True)  # reproduce = redo
        runs[name], seconds[name] = out / name, time.perf_counter() - t0
    if with_sb3:
        for algo in ("ppo", "trpo"):
            name = f"sb3_{algo}-{LUNAR}"
            log(f"training {name}: {seeds} seeds × {b.lunar_steps:,} steps")
            t0 = time.perf_counter()
            train_sb3(algo, LUNAR, seeds, b.lunar_steps, out / name)
            runs[name], seconds[name] = out / name, time.perf_counter() - t0
    figures = plot_paper_figures(runs, out)
    return write_report(out, runs, seconds, figures, budget, seeds)


def redraw_paper(out_dir: str | Path) -> Path:
    """Figures and report again from the run directories already in ``out_dir`` (ours and
    SB3's, e.g. the CSVs committed under ``docs/paper/runs``), without training.

    The report's time column is then each run's training time from its ``summary.json``.
    """
    out = Path(out_dir)
    names = [f"{a}-{LUNAR}" for a in ("ppo", "trpo", "sb3_ppo", "sb3_trpo")]
    names.append(f"npg-{CARTPOLE}")
    runs = {}
    for name in names:
        for where in (out / name, out / "runs" / name):
            if (where / "metrics.csv").exists() and (where / "summary.json").exists():
                runs[name] = where
                break
    if not any(LUNAR in n for n in runs):
        raise ConfigError(
            "reproduce", "--out", f"{out} holds none of the paper's run directories ({names[0]}, …)"
        )
    seconds, seeds = {}, 0
    for name, path in runs.items():
        summary = json.loads((path / "summary.json").read_text())
        seconds[name] = float(summary.get("run_seconds", float("nan")))
        seeds = max(seeds, len(summary["eval_mean_return_per_seed"]))
    lunar = next(p for n, p in runs.items() if LUNAR in n)
    steps = json.loads((lunar / "config.json").read_text()).get("total_timesteps")
    budget = next((k for k, b in BUDGETS.items() if b.lunar_steps == steps), f"{steps} steps")
    figures = plot_paper_figures(runs, out)
    return write_report(out, runs, seconds, figures, budget, seeds)


# --------------------------------------------------------------------------- figures


def _label(name: str) -> str:
    algo = name.split("-")[0]
    return {"sb3_ppo": "SB3 PPO", "sb3_trpo": "sb3-contrib TRPO"}.get(algo, f"policyopt {algo}")


def plot_paper_figures(runs: dict[str, Path], out: Path) -> list[Path]:
    """Figures 1–3 as PNG + SVG in ``out``; returns the PNG paths."""
    import matplotlib.pyplot as plt

    from policyopt.plots import plot_curves, save_figure

    metrics = {name: load_metrics(path) for name, path in runs.items()}
    lunar = {k: m for k, m in metrics.items() if LUNAR in k}

    def curves(key: str, group: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
        return {
            _label(k): (m["time/total_timesteps"][0], m[key]) for k, m in group.items() if key in m
        }

    paths = []
    plot_curves(
        curves("rollout/ep_rew_mean", lunar),
        out / "figure1_return",
        "episodic return (reward, last 100 episodes)",
        f"Figure 1: PPO vs TRPO on {LUNAR}",
    )
    paths.append(out / "figure1_return.png")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    plot_curves(
        curves("train/kl_forward", lunar),
        out,
        r"KL($\pi_k \,\|\, \pi_{k+1}$) per update",
        LUNAR,
        ax=axes[0],
    )
    plot_curves(
        curves("train/clip_fraction", lunar), out, "clip fraction (ε = 0.2)", LUNAR, ax=axes[1]
    )
    fig.suptitle("Figure 2: KL and clip fraction of PPO and TRPO")
    save_figure(fig, out / "figure2_kl_clip")
    paths.append(out / "figure2_kl_clip.png")
    plot_curves(
        curves("rollout/ep_rew_mean", {k: m for k, m in metrics.items() if CARTPOLE in k}),
        out / "figure3_npg_cartpole",
        "episodic return (reward)",
        f"Figure 3: NPG on {CARTPOLE}",
    )
    paths.append(out / "figure3_npg_cartpole.png")
    return paths


def write_report(
    out: Path,
    runs: dict[str, Path],
    seconds: dict[str, float],
    figures: list[Path],
    budget: str,
    seeds: int,
) -> Path:
    """``report.md``: settings, a table of final returns with bootstrap CIs, the figures."""
    from policyopt.plots import bootstrap_ci

    lines = [
        "# Reproduction of the seed paper's experiments",
        "",
        f"Budget `{budget}`, {seeds} seeds per curve; reward convention (higher is better).",
        "Final return: deterministic evaluation after training, mean over seeds with a 95%",
        "bootstrap confidence interval of the mean; training return: mean of the last 100",
        "training episodes at the end of training.",
        "",
        "| run | steps/seed | final eval return | 95% CI | training return | wall s |",
        "|---|---|---|---|---|---|",
    ]
    for name, path in runs.items():
        summary = json.loads((path / "summary.json").read_text())
        per_seed = np.asarray(summary["eval_mean_return_per_seed"])[:, None]
        lo, hi = bootstrap_ci(per_seed)
        m = load_metrics(path)
        steps = int(np.nanmax(m["time/total_timesteps"]))
        train_ret = float(np.nanmean(m["rollout/ep_rew_mean"][:, -1]))
        lines.append(
            f"| {_label(name)} on {name.split('-', 1)[1]} | {steps:,} | "
            f"{per_seed.mean():.1f} | [{lo[0]:.1f}, {hi[0]:.1f}] | {train_ret:.1f} | "
            f"{seconds.get(name, float('nan')):.0f} |"
        )
    lines += ["", *(f"![{p.stem}]({p.name})" for p in figures), ""]
    return atomic_write_text(out / "report.md", "\n".join(lines))


# --------------------------------------------------------------------------- SB3 side


def sb3_equivalent(cfg: Any, action_dims: int = 1) -> tuple[Any, dict[str, Any]]:
    """The stable-baselines3 / sb3-contrib class and keyword arguments matching ``cfg``.

    Only PPO and TRPO have an SB3 twin here (the paper's baselines); ``n_envs`` is
    ``cfg.num_envs``. Networks are SB3's default MlpPolicy (64×64 tanh, orthogonal init),
    which is also ours. ``action_dims``: the n of an n-dimensional Box action space (1 for
    discrete ones): sb3-contrib's TRPO averages the KL over those dimensions, so the same
    steps take its ``target_kl`` and ``cg_damping`` as our δ/n and damping/n
    (``tests/test_sb3_trpo_step.py``).
    """
    if cfg.name == "ppo":
        from stable_baselines3 import PPO

        return PPO, {
            "n_steps": cfg.num_steps,
            "batch_size": cfg.batch_size,
            "n_epochs": cfg.n_epochs,
            "gamma": cfg.gamma,
            "gae_lambda": cfg.gae_lambda,
            "ent_coef": cfg.ent_coef,
            "vf_coef": cfg.vf_coef,
            "max_grad_norm": cfg.max_grad_norm,
            "learning_rate": cfg.learning_rate,
            "clip_range": cfg.clip_eps,
        }
    if cfg.name == "trpo":
        from sb3_contrib import TRPO

        return TRPO, {
            "n_steps": cfg.num_steps,
            "batch_size": cfg.vf_batch_size,
            "gamma": cfg.gamma,
            "gae_lambda": cfg.gae_lambda,
            "n_critic_updates": cfg.vf_epochs,
            "cg_damping": cfg.damping / action_dims,
            "cg_max_steps": cfg.cg_iters,
            "line_search_shrinking_factor": cfg.backtrack_coef,
            "line_search_max_iter": cfg.max_backtracks,
            "learning_rate": cfg.vf_learning_rate,
            "target_kl": cfg.delta / action_dims,
        }
    raise ConfigError("sb3", "algo", f"{cfg.name!r} has no SB3 twin; allowed: ppo, trpo")


def train_sb3(algo: str, env_id: str, seeds: int, steps: int, run_dir: Path) -> None:
    """SB3 PPO / sb3-contrib TRPO with our preset's settings, logged into a run directory.

    Metrics are read at the end of every rollout: ``rollout/ep_rew_mean`` from SB3's episode
    buffer, and the previous update's ``train/*`` values from its logger. ``train/kl_forward``
    is computed here exactly as ours is: the mean over the rollout's states of
    KL(π_k‖π_{k+1}), from SB3's policy before and after its update. SB3 PPO's own
    ``approx_kl`` (a minibatch-averaged k3 estimate taken *during* the epochs) is a different
    quantity and is kept under its own name.
    """
    import torch
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    from policyopt.configs import make_config
    from policyopt.presets import preset

    kw, _ = preset(algo, env_id)
    cfg = make_config(algo, env_id=env_id, total_timesteps=steps, **kw)
    import gymnasium as gym

    space = gym.make(env_id).action_space
    action_dims = int(np.prod(space.shape)) if isinstance(space, gym.spaces.Box) else 1
    cls, sb3_kw = sb3_equivalent(cfg, action_dims)
    kept = ("approx_kl", "clip_fraction", "entropy_loss", "value_loss", "explained_variance")

    def train_values(model: Any) -> dict[str, float]:
        values = model.logger.name_to_value
        return {f"train/{k}": float(values[f"train/{k}"]) for k in kept if f"train/{k}" in values}

    class Recorder(BaseCallback):
        """Rollout k's return at its end; update k's train/* values at rollout k+1's end.

        At the end of each rollout (before SB3's ``train()``) it keeps the rollout's states
        and the policy's distribution on them; after the update it evaluates the new policy
        on the same states, which gives the exact mean KL(π_k‖π_{k+1}) of the update.
        """

        def __init__(self) -> None:
            super().__init__()
            self.rows: list[dict[str, float]] = []
            self.updates: list[dict[str, float]] = []
            self._snapshot: tuple[Any, Any] | None = None

        def _on_step(self) -> bool:
            return True

        def _distribution(self, obs: Any) -> Any:
            with torch.no_grad():
                return self.model.policy.get_distribution(obs).distribution  # type: ignore[operator]

        def snapshot(self) -> None:
            buf = self.model.rollout_buffer  # type: ignore[attr-defined]
            flat = buf.observations.reshape(-1, *buf.obs_shape)
            obs = self.model.policy.obs_to_tensor(flat)[0]
            self._snapshot = (obs, self._distribution(obs))

        def update_kl(self) -> dict[str, float]:
            if self._snapshot is None:
                return {}
            obs, old = self._snapshot
            kl = torch.distributions.kl_divergence(old, self._distribution(obs))
            if kl.ndim > 1:  # diagonal Gaussian: independent action dimensions
                kl = kl.sum(-1)
            return {"train/kl_forward": float(kl.mean())}

        def _on_rollout_end(self) -> None:
            if self.rows:
                self.updates.append(train_values(self.model) | self.update_kl())
            self.snapshot()
            buf = self.model.ep_info_buffer
            self.rows.append(
                {
                    "time/total_timesteps": float(self.model.num_timesteps),
                    "rollout/ep_rew_mean": float(np.mean([e["r"] for e in buf])) if buf else np.nan,
                }
            )

    torch.set_num_threads(1)
    histories, evals = [], []
    t0 = time.perf_counter()
    for k in range(seeds):
        env = make_vec_env(env_id, n_envs=cfg.num_envs, seed=k)
        model = cls("MlpPolicy", env, seed=k, device="cpu", verbose=0, **sb3_kw)
        rec = Recorder()
        model.learn(total_timesteps=steps, callback=rec)
        # the last update is never dumped by learn(); its KL is measured now
        rec.updates.append(train_values(model) | rec.update_kl())
        histories.append([r | u for r, u in zip(rec.rows, rec.updates, strict=True)])
        eval_env = make_vec_env(env_id, n_envs=1, seed=10_000 + k)
        returns, _ = evaluate_policy(
            model, eval_env, n_eval_episodes=16, deterministic=True, return_episode_rewards=True
        )
        evals.append(returns)
        env.close()
    from policyopt.runs import metrics_from_histories

    metrics = metrics_from_histories(histories)
    secs = time.perf_counter() - t0
    timing = {"run_seconds": secs, "steps_per_second": steps * seeds / secs}
    info = {"library": "stable-baselines3", "algo": algo, "seeds": seeds}
    save_run(run_dir, cfg, metrics, np.asarray(evals), timing, info)
