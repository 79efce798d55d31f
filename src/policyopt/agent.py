"""``Agent``: the stable-baselines3-style facade over the host loop (reward convention).

>>> agent = Agent("trpo", "CartPole-v1", num_envs=4)     # doctest: +SKIP
>>> agent.learn(100_000).evaluate(10)                     # doctest: +SKIP

``predict`` has SB3's signature, so ``stable_baselines3.common.evaluation.evaluate_policy``
works on an Agent unchanged. ``save``/``load`` use :mod:`policyopt.checkpoint` (no pickle).
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
from flax import serialization

import policyopt
from policyopt.checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from policyopt.configs import CONFIGS, make_config
from policyopt.envs.host_env import make_host_env, resolve_backend
from policyopt.errors import ConfigError, check_int
from policyopt.host import HostState, HostTrainer, RunningMeanStd
from policyopt.host_policy import HostPolicy

__all__ = ["Agent"]


class Agent:
    """Train, use, save and load one recipe on one Gymnasium environment.

    Args:
        algo: recipe name (pg, npg, trpo, ppo, ppo_kl, mdpo, adaptive_trpo).
        env_id: a Gymnasium id (Discrete or 1-D Box actions, 1-D Box observations).
        seed: seeds parameters, sampling and environment resets.
        vectorization: "auto" (EnvPool when it has the id and num_envs >= 8, else Gymnasium's
            sync vector env, else gymnax), "envpool", "sync", "async" (Gymnasium
            subprocesses) or "gymnax". The resolved backend is saved with the agent.
        normalize_obs / normalize_reward: running observation normalisation and reward
            scaling (SB3's VecNormalize); statistics are saved with the agent.
        checkpoint_path: where ``learn`` writes a checkpoint every ``checkpoint_every`` updates.
        checkpoint_every: updates per checkpoint segment (environments are reseeded at segment
            starts so that resume is exact; see :mod:`policyopt.host`). Default: the number
            of updates that makes a segment at least 50,000 environment steps.
        **hparams: config fields of the recipe (validated before any environment is created).
    """

    def __init__(
        self,
        algo: str,
        env_id: str,
        seed: int = 0,
        vectorization: str = "auto",
        normalize_obs: bool = False,
        normalize_reward: bool = False,
        checkpoint_path: str | os.PathLike[str] | None = None,
        checkpoint_every: int | None = None,
        **hparams: Any,
    ) -> None:
        hparams.setdefault(
            "total_timesteps", hparams.get("num_envs", 8) * hparams.get("num_steps", 128)
        )
        self.config = make_config(algo, env_id=env_id, **hparams)  # ConfigError before any env
        # unknown ids fail here, with suggestions, before any environment exists
        backend = resolve_backend(env_id, vectorization, self.config.num_envs)
        self.algo, self.env_id, self.seed = algo, env_id, seed
        if checkpoint_every is None:
            checkpoint_every = max(1, -(-50_000 // self.config.rollout_size))
        check_int("Agent", "checkpoint_every", checkpoint_every, 1)
        self.settings = {
            "vectorization": backend,
            "normalize_obs": bool(normalize_obs),
            "normalize_reward": bool(normalize_reward),
            "checkpoint_every": int(checkpoint_every),
        }
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path is not None else None
        self.trainer = HostTrainer(
            self.config, seed, backend, normalize_obs, normalize_reward, checkpoint_every
        )
        self.state: HostState = self.trainer.init_state()
        self._predict_rng = np.random.default_rng([seed, 1])
        self._policy_cache: tuple[Any, HostPolicy] | None = None

    # ------------------------------------------------------------------ training
    @property
    def num_timesteps(self) -> int:
        return self.state.update * self.config.rollout_size

    def learn(
        self,
        total_timesteps: int,
        callback: Callable[[dict[str, float]], bool | None] | None = None,
        progress_bar: bool = False,
        resume: bool = False,
    ) -> Agent:
        """Train until ``total_timesteps`` (whole rollouts); ``callback(metrics) is False`` stops.

        With ``checkpoint_path`` set, a checkpoint is written atomically at the start, every
        ``checkpoint_every`` updates (segment boundaries) and at the end. On Ctrl-C the last
        segment checkpoint is kept, not overwritten with a mid-segment state, and
        ``KeyboardInterrupt`` is re-raised: environments cannot be saved mid-episode, but
        every segment starts from freshly seeded ones, so ``learn(..., resume=True)`` from a
        segment checkpoint reproduces the uninterrupted run exactly (at the cost of redoing
        at most one segment, ≥ 50,000 steps by default).
        """
        check_int("Agent.learn", "total_timesteps", total_timesteps, self.config.rollout_size)
        if resume and self.checkpoint_path is not None and self.checkpoint_path.exists():
            self._restore(self.checkpoint_path)
        target = total_timesteps // self.config.rollout_size
        self.trainer.total_updates = target
        every = self.settings["checkpoint_every"]
        if self.checkpoint_path is not None and self.state.update % every == 0:
            self.save(self.checkpoint_path)
        bar = _ProgressBar(self, target) if progress_bar else None
        try:
            while self.state.update < target:
                metrics = self.trainer.run_update(self.state)
                if bar is not None:
                    bar.advance(metrics)
                if self.checkpoint_path is not None and self.state.update % every == 0:
                    self.save(self.checkpoint_path)
                if callback is not None and callback(metrics) is False:
                    break
        finally:
            if bar is not None:
                bar.stop()
        if self.checkpoint_path is not None and self.state.update % every != 0:
            self.save(self.checkpoint_path)
        return self

    @property
    def history(self) -> list[dict[str, float]]:
        """Per-update metrics (SB3 names plus policyopt's, DESIGN §4)."""
        return self.state.history

    # ------------------------------------------------------------------ acting
    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """stable-baselines3's ``predict``: actions for a (batch of) observation(s), no state.

        Observations are raw environment observations (normalised here with the saved
        statistics when the agent normalises); continuous actions are clipped to the bounds.
        """
        obs = np.asarray(observation, np.float32)
        shape = self.trainer.obs_shape
        if obs.shape[-len(shape) :] != shape or obs.ndim not in (len(shape), len(shape) + 1):
            raise ValueError(
                f"observation: expected shape {shape} or (batch, *{shape}), got {obs.shape}"
            )
        single = obs.ndim == len(shape)
        batch = self.trainer.normalize(obs[None] if single else obs, self.state)
        actor = self.state.learner.actor
        if self._policy_cache is None or self._policy_cache[0] is not actor:
            self._policy_cache = (actor, self.trainer.host_policy(self.state.learner))
        policy = self._policy_cache[1]
        if deterministic:
            action = policy.mode(batch)
        else:
            action, _ = policy.sample(batch, self._predict_rng)
        action = self.trainer.env_action(action)
        return (action[0] if single else action), state

    def evaluate(
        self, n_episodes: int = 10, deterministic: bool = True, seed: int = 12345
    ) -> tuple[float, float]:
        """Mean and std of undiscounted returns of ``n_episodes`` fresh episodes (reward).

        The episodes run in parallel, one per environment of a new vector env on the
        training backend; each environment's first episode counts.
        """
        returns = self.evaluate_episodes(n_episodes, deterministic, seed)
        return float(np.mean(returns)), float(np.std(returns))

    def evaluate_episodes(
        self, n_episodes: int = 10, deterministic: bool = True, seed: int = 12345
    ) -> np.ndarray:
        """Undiscounted return of each of ``n_episodes`` fresh episodes."""
        check_int("Agent.evaluate", "n_episodes", n_episodes, 1)
        envs = make_host_env(self.env_id, n_episodes, self.settings["vectorization"])
        try:
            obs = envs.reset(seed)
            total, alive = np.zeros(n_episodes), np.ones(n_episodes, bool)
            while alive.any():
                action, _ = self.predict(obs, deterministic=deterministic)
                out = envs.step(action)
                total += np.where(alive, out.reward, 0.0)
                alive &= ~(out.terminated | out.truncated)
                obs = out.obs
        finally:
            envs.close()
        return total

    def record(self, path: str | os.PathLike[str], episodes: int = 1, fps: int = 30) -> Path:
        """Write ``episodes`` deterministic episodes as a GIF (Pillow) or MP4 (imageio-ffmpeg).

        Needs a Gymnasium id with ``rgb_array`` rendering. Written atomically.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".gif", ".mp4"):
            raise ConfigError("Agent.record", "path", f"suffix {suffix!r}; allowed: .gif, .mp4")
        check_int("Agent.record", "episodes", episodes, 1)
        if self.env_id not in gym.registry:
            raise ConfigError(
                "Agent.record", "env_id", f"{self.env_id!r} is not a Gymnasium id (no renderer)"
            )
        with warnings.catch_warnings():  # an unsupported mode only warns: we check below
            warnings.simplefilter("ignore", UserWarning)
            env = gym.make(self.env_id, render_mode="rgb_array")
        if "rgb_array" not in env.metadata.get("render_modes", []):
            env.close()
            raise ConfigError(
                "Agent.record", "env_id", f"{self.env_id!r} has no 'rgb_array' render mode"
            )
        frames: list[np.ndarray] = []
        try:
            for ep in range(episodes):
                obs, _ = env.reset(seed=ep)
                done = False
                while not done:
                    frames.append(np.asarray(env.render()))
                    action, _ = self.predict(obs, deterministic=True)
                    obs, _, term, trunc, _ = env.step(action)
                    done = term or trunc
                frames.append(np.asarray(env.render()))
        finally:
            env.close()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.tmp{suffix}")
        if suffix == ".gif":
            from PIL import Image

            images = [Image.fromarray(f) for f in frames]
            images[0].save(
                tmp,
                format="GIF",
                save_all=True,
                append_images=images[1:],
                duration=int(1000 / fps),
                loop=0,
            )
        else:
            try:
                import imageio.v2 as imageio
            except ImportError as err:
                raise ConfigError(
                    "Agent.record", "path", "MP4 needs imageio: pip install 'policyopt[video]'"
                ) from err
            imageio.mimwrite(tmp, frames, fps=fps, macro_block_size=1)
        os.replace(tmp, path)
        return path

    # ------------------------------------------------------------------ persistence
    def _state_tree(self) -> dict[str, Any]:
        s = self.state
        tree: dict[str, Any] = {
            "learner": s.learner,
            "key": s.key,
            "episode_returns": np.asarray(s.episode_returns, np.float64),
            "episode_lengths": np.asarray(s.episode_lengths, np.int64),
        }
        for name in ("obs_rms", "ret_rms"):
            rms = getattr(s, name)
            if rms is not None:
                tree[name] = {"mean": rms.mean, "var": rms.var, "count": np.float64(rms.count)}
        return tree

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a checkpoint (pickle-free, atomic) with everything needed to resume exactly."""
        cfg = dataclasses.asdict(self.config)
        cfg["hidden_sizes"] = list(cfg["hidden_sizes"])
        meta = {
            "library_version": policyopt.__version__,
            "algo": self.algo,
            "env_id": self.env_id,
            "seed": self.seed,
            "config": cfg,
            "settings": self.settings,
            "update": self.state.update,
            "history": self.state.history,
        }
        return write_checkpoint(path, meta, self._state_tree())

    def _restore(self, path: Path) -> None:
        meta, tree = read_checkpoint(path)
        template = self._state_tree()
        if ("obs_rms" in tree) != ("obs_rms" in template) or ("ret_rms" in tree) != (
            "ret_rms" in template
        ):
            raise CheckpointError(f"{path}: normalisation settings differ from this agent's")
        for name in ("episode_returns", "episode_lengths"):
            template[name] = np.asarray(tree.get(name, template[name]))
        try:
            restored = serialization.from_state_dict(template, tree)
        except (ValueError, KeyError, TypeError) as err:
            raise CheckpointError(
                f"{path}: does not match this agent's networks/optimiser ({err})"
            ) from err
        s = self.state
        s.learner = jax.tree.map(jnp.asarray, restored["learner"])
        s.key = jnp.asarray(restored["key"], dtype=jnp.uint32)
        s.update = int(meta["update"])
        s.history = list(meta["history"])
        s.episode_returns = deque(np.asarray(restored["episode_returns"]).tolist(), maxlen=100)
        s.episode_lengths = deque(np.asarray(restored["episode_lengths"]).tolist(), maxlen=100)
        for name in ("obs_rms", "ret_rms"):
            if name in restored:
                r = restored[name]
                setattr(
                    s,
                    name,
                    RunningMeanStd(np.asarray(r["mean"]), np.asarray(r["var"]), float(r["count"])),
                )
        self.trainer._obs = None  # force the segment's deterministic reseed

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], checkpoint_path: str | os.PathLike[str] | None = None
    ) -> Agent:
        """Rebuild an Agent from a checkpoint (config, parameters, optimiser, RNG, statistics)."""
        path = Path(path)
        meta, _ = read_checkpoint(path)
        if meta.get("algo") not in CONFIGS:
            raise CheckpointError(f"{path}: unknown recipe {meta.get('algo')!r}")
        cfg = dict(meta["config"])
        cfg.pop("env_id", None)
        settings = meta["settings"]
        agent = cls(
            meta["algo"],
            meta["env_id"],
            seed=meta["seed"],
            vectorization=settings["vectorization"],
            normalize_obs=settings["normalize_obs"],
            normalize_reward=settings["normalize_reward"],
            checkpoint_path=checkpoint_path if checkpoint_path is not None else path,
            checkpoint_every=settings["checkpoint_every"],
            **cfg,
        )
        agent._restore(path)
        return agent


class _ProgressBar:
    """rich progress: steps, steps per second, recent return and ETA."""

    def __init__(self, agent: Agent, target_updates: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.agent = agent
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[sps]:>8} steps/s"),
            TextColumn("return {task.fields[ret]:>8}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self.task = self.progress.add_task(
            f"{agent.algo} {agent.env_id}",
            total=target_updates * agent.config.rollout_size,
            completed=agent.num_timesteps,
            sps="–",
            ret="–",
        )
        self.progress.start()
        self._t0, self._steps0 = time.perf_counter(), agent.num_timesteps

    def advance(self, metrics: dict[str, float]) -> None:
        steps = self.agent.num_timesteps
        sps = (steps - self._steps0) / max(time.perf_counter() - self._t0, 1e-9)
        ret = metrics["rollout/ep_rew_mean"]
        self.progress.update(
            self.task,
            completed=steps,
            sps=f"{sps:,.0f}",
            ret="–" if ret != ret else f"{ret:.1f}",
        )

    def stop(self) -> None:
        self.progress.stop()
