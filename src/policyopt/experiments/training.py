"""One experiment = one run directory, whichever level trains it.

``train_run`` trains ``seeds`` seeds of a recipe on an environment and writes
``runs/<name>/`` (:mod:`policyopt.runs`: ``config.json``, ``metrics.csv``, ``summary.json``,
TensorBoard files, plots). JAX-native (gymnax) environments train all seeds vmapped in one
compiled program; any other id trains through :class:`policyopt.Agent` on the host, one seed
after another, each with its own checkpoint in ``checkpoints/seed_<k>.ckpt`` written every
segment, on Ctrl-C and at the end, so ``resume_run`` continues an interrupted run exactly.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from policyopt.configs import BaseConfig, make_config
from policyopt.errors import ConfigError, check_int
from policyopt.presets import preset
from policyopt.runs import metrics_from_histories, save_run

__all__ = ["LEVELS", "RunSpec", "resume_run", "train_run"]

LEVELS = ("auto", "compiled", "host")


@dataclass(frozen=True)
class RunSpec:
    """What to train: everything ``policyopt train`` takes, validated by :meth:`config`.

    Attributes:
        algo: recipe name.
        env_id: Gymnasium, EnvPool or gymnax id.
        seeds: number of seeds (``seed``, ``seed + 1``, …).
        seed: base seed.
        steps: environment steps per seed (default: the preset's budget, else the config's).
        overrides: config fields (after the preset when ``use_preset``).
        use_preset: start from :mod:`policyopt.presets` for (algo, env_id).
        level: "compiled" (gymnax, vmapped seeds), "host" (Agent) or "auto" (compiled when
            the id is a gymnax id, else host).
        vectorization: host backend (see :class:`policyopt.Agent`).
        normalize_obs / normalize_reward: host running normalisation.
        checkpoint_every: host updates per checkpoint segment (default: ≥ 50,000 steps).
    """

    algo: str
    env_id: str
    seeds: int = 1
    seed: int = 0
    steps: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    use_preset: bool = True
    level: str = "auto"
    vectorization: str = "auto"
    normalize_obs: bool = False
    normalize_reward: bool = False
    checkpoint_every: int | None = None

    def config(self) -> BaseConfig:
        """The validated recipe config (``ConfigError`` names the field on bad input)."""
        check_int("run", "seeds", self.seeds, 1)
        if self.level not in LEVELS:
            raise ConfigError("run", "level", f"got {self.level!r}; allowed: {', '.join(LEVELS)}")
        base, budget = preset(self.algo, self.env_id) if self.use_preset else ({}, None)
        kw = {**base, **self.overrides}
        if self.steps is not None or budget is not None:
            kw["total_timesteps"] = self.steps if self.steps is not None else budget
        return make_config(self.algo, env_id=self.env_id, **kw)

    def resolved_level(self) -> str:
        if self.level != "auto":
            return self.level
        import gymnax

        return "compiled" if self.env_id in gymnax.registered_envs else "host"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def agent_fields(cfg: BaseConfig) -> dict[str, Any]:
    """``cfg``'s fields as :class:`policyopt.Agent` keyword arguments (env id apart)."""
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "env_id"}


def train_run(
    spec: RunSpec,
    run_dir: str | Path,
    progress: bool = False,
    resume: bool = False,
) -> dict[str, Any]:
    """Train ``spec`` into ``run_dir``; returns ``summary.json``'s contents.

    Everything is validated (config, environment id, level) before any training starts.
    """
    cfg = spec.config()
    level = spec.resolved_level()
    run_dir = Path(run_dir)
    info = spec.to_json() | {"level": level}
    if level == "compiled":
        from policyopt.envs import make_jax_env

        make_jax_env(spec.env_id)  # unknown ids fail here, with suggestions
        return _train_compiled(cfg, spec, run_dir, info)
    from policyopt.envs.host_env import resolve_backend

    resolve_backend(spec.env_id, spec.vectorization, cfg.num_envs)
    if not resume:
        write_spec(run_dir, spec)  # first, so a run interrupted before any save can resume
    return _train_host(cfg, spec, run_dir, info, progress, resume)


def _train_compiled(
    cfg: BaseConfig, spec: RunSpec, run_dir: Path, info: dict[str, Any]
) -> dict[str, Any]:
    import jax

    from policyopt.train import run_train

    res = run_train(cfg, seed=spec.seed, num_seeds=spec.seeds)
    metrics = {k: np.asarray(v) for k, v in jax.device_get(res.output.metrics).items()}
    timing = {
        "compile_seconds": res.compile_seconds,
        "run_seconds": res.run_seconds,
        "steps_per_second": res.steps_per_second,
    }
    save_run(run_dir, cfg, metrics, np.asarray(res.output.eval_returns), timing, info)
    _export_compiled_agents(cfg, spec, run_dir, res.output.learner, metrics)
    plot_run(run_dir, spec.algo, spec.env_id, metrics)
    return json.loads((run_dir / "summary.json").read_text())


def _export_compiled_agents(
    cfg: BaseConfig, spec: RunSpec, run_dir: Path, learners: Any, metrics: dict[str, Any]
) -> None:
    """Write each seed's final learner as an :class:`policyopt.Agent` checkpoint.

    Only for ids Gymnasium also knows (the compiled and host envs then share observations
    and actions), so ``policyopt eval RUN --video`` and ``Agent.load`` work on compiled runs.
    """
    import gymnasium as gym
    import jax

    from policyopt.agent import Agent

    if spec.env_id not in gym.registry:
        return
    fields = agent_fields(cfg)
    agent = Agent(spec.algo, spec.env_id, seed=spec.seed, vectorization="sync", **fields)
    names = sorted(metrics)
    for k in range(spec.seeds):
        agent.state.learner = jax.tree.map(lambda x, k=k: x[k], learners)
        agent.state.update = cfg.num_updates
        agent.state.history = [
            {n: float(metrics[n][k, u]) for n in names} for u in range(cfg.num_updates)
        ]
        agent.save(run_dir / "checkpoints" / f"seed_{k}.ckpt")


def _train_host(
    cfg: BaseConfig,
    spec: RunSpec,
    run_dir: Path,
    info: dict[str, Any],
    progress: bool,
    resume: bool,
) -> dict[str, Any]:
    from policyopt.agent import Agent

    fields = agent_fields(cfg)
    histories, evals, seconds = [], [], 0.0
    for k in range(spec.seeds):
        ckpt = run_dir / "checkpoints" / f"seed_{k}.ckpt"
        agent = Agent(
            spec.algo,
            spec.env_id,
            seed=spec.seed + k,
            vectorization=spec.vectorization,
            normalize_obs=spec.normalize_obs,
            normalize_reward=spec.normalize_reward,
            checkpoint_path=ckpt,
            checkpoint_every=spec.checkpoint_every,
            **fields,
        )
        t0 = time.perf_counter()
        agent.learn(cfg.total_timesteps, progress_bar=progress, resume=resume)
        seconds += time.perf_counter() - t0
        info["vectorization"] = agent.settings["vectorization"]
        histories.append(agent.history)
        evals.append(agent.evaluate_episodes(cfg.eval_episodes, seed=10_000 + spec.seed + k))
    metrics = metrics_from_histories(histories)
    steps = cfg.num_updates * cfg.rollout_size * spec.seeds
    timing = {"run_seconds": seconds, "steps_per_second": steps / max(seconds, 1e-9)}
    save_run(run_dir, cfg, metrics, np.stack(evals), timing, info)
    plot_run(run_dir, spec.algo, spec.env_id, metrics)
    return json.loads((run_dir / "summary.json").read_text())


def plot_run(run_dir: Path, algo: str, env: str, metrics: dict[str, Any]) -> None:
    """A run's own figures: return, KL, clip fraction; natural-gradient diagnostics."""
    from policyopt.plots import plot_curves, plot_natural_diagnostics

    x = metrics["time/total_timesteps"][0]
    plot_curves(
        {algo: (x, metrics["rollout/ep_rew_mean"])},
        run_dir / "return",
        "episodic return (reward)",
        env,
    )
    for key in ("train/kl_forward", "train/clip_fraction"):
        if key in metrics:
            plot_curves({algo: (x, metrics[key])}, run_dir / key.split("/")[1], key, env)
    if "train/cg_iterations" in metrics:
        plot_natural_diagnostics(x, metrics, run_dir / "natural_gradient", f"{algo} on {env}")


def resume_run(run_dir: str | Path, progress: bool = False) -> dict[str, Any]:
    """Continue the run in ``run_dir`` from its checkpoints (host runs) or retrain it.

    Compiled runs are one XLA program of a few seconds with no intermediate state to save;
    resuming one trains it again from its stored spec (same seeds, same numbers).
    """
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    spec_path = run_dir / "spec.json"
    if spec_path.exists():
        raw = json.loads(spec_path.read_text())
    elif cfg_path.exists() and "run" in json.loads(cfg_path.read_text()):
        raw = json.loads(cfg_path.read_text())["run"]
    else:
        raise ConfigError("cli", "--resume", f"{run_dir} is not a policyopt run directory")
    spec = RunSpec(**{f.name: raw[f.name] for f in dataclasses.fields(RunSpec) if f.name in raw})
    return train_run(spec, run_dir, progress=progress, resume=True)


def write_spec(run_dir: str | Path, spec: RunSpec) -> None:
    """``spec.json``: what ``resume_run`` needs to continue the run."""
    from policyopt.runs import atomic_write_text

    atomic_write_text(Path(run_dir) / "spec.json", json.dumps(spec.to_json(), indent=2) + "\n")
