"""``Agent``: the stable-baselines3-style facade over the host loop (reward convention).

>>> agent = Agent("trpo", "CartPole-v1", num_envs=4)     # doctest: +SKIP
>>> agent.learn(100_000).evaluate(10)                     # doctest: +SKIP

``predict`` has SB3's signature, so ``stable_baselines3.common.evaluation.evaluate_policy``
works on an Agent unchanged. ``save``/``load`` use :mod:`policyopt.checkpoint` (no pickle).
"""

from __future__ import annotations

import os
import time
import warnings
from collections import deque
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

import policyopt
from policyopt.agent_meta import (
    check_agent_meta,
    default_checkpoint_every,
    field_differences,
    identity,
)
from policyopt.atomic import atomic_path
from policyopt.checkpoint import (
    AnyLength,
    CheckpointError,
    read_checkpoint,
    verify_state,
    write_checkpoint,
)
from policyopt.configs import make_config
from policyopt.envs.host_env import make_host_env, resolve_backend
from policyopt.errors import ConfigError, check_int, check_seed
from policyopt.faults import check_on_nan
from policyopt.host import HostState, HostTrainer, RunningMeanStd
from policyopt.host_policy import HostPolicy

__all__ = ["Agent", "check_video_path", "learn_together", "progress_display"]


def check_video_path(path: str | os.PathLike[str]) -> str:
    """The video format of ``path`` (".gif" or ".mp4"), checked before any episode is run:
    MP4 needs imageio and its FFmpeg plugin (the ``video`` extra; the ``mujoco`` extra brings
    imageio alone, which cannot write MP4)."""
    import importlib.util

    suffix = Path(path).suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ConfigError("Agent.record", "path", f"suffix {suffix!r}; allowed: .gif, .mp4")
    if suffix == ".mp4" and any(
        importlib.util.find_spec(m) is None for m in ("imageio", "imageio_ffmpeg")
    ):
        raise ConfigError(
            "Agent.record",
            "path",
            "MP4 needs imageio and imageio-ffmpeg: pip install 'policyopt[video]'",
        )
    return suffix


class Agent:
    """Train, use, save and load one recipe on one Gymnasium environment.

    Args:
        algo: recipe name (pg, npg, trpo, ppo, ppo_kl, mdpo, adaptive_trpo).
        env_id: a Gymnasium id (Discrete or 1-D Box actions, 1-D Box observations).
        seed: seeds parameters, sampling and environment resets.
        vectorization: "auto" (EnvPool when it has the id and num_envs >= 8, else Gymnasium's
            sync vector env, else gymnax), "envpool", "sync", "async" (Gymnasium
            subprocesses) or "gymnax". The resolved backend is saved with the agent.
        normalize_obs: running observation normalisation (SB3's VecNormalize); its
            statistics are saved with the agent.
        normalize_reward: reward scaling (SB3's VecNormalize); its statistics are saved with
            the agent.
        checkpoint_path: where ``learn`` writes a checkpoint every ``checkpoint_every`` updates.
        checkpoint_every: updates per checkpoint segment (environments are reseeded at segment
            starts so that resume is exact; see :mod:`policyopt.host`). Default: the number
            of updates that makes a segment at least 50,000 environment steps.
        on_nan: "raise" (default) stops ``learn`` with :class:`~policyopt.faults.NonFiniteError`
            at the first update with a non-finite advantage, loss, gradient or parameter;
            "skip" rejects such updates (the last good parameters are kept) and counts them in
            ``train/rejected_nonfinite``. Non-finite observations or rewards always stop.
            A run-time choice: not saved with the agent.
        step_timeout: seconds an environment may take per ``step``/``reset`` before the run
            stops with :class:`~policyopt.faults.EnvTimeoutError` (needs the "async" backend,
            which "auto" then picks; a sync env runs in this process and cannot be
            interrupted). None (default): no limit. Not saved with the agent.
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
        on_nan: str = "raise",
        step_timeout: float | None = None,
        **hparams: Any,
    ) -> None:
        hparams.setdefault(
            "total_timesteps", hparams.get("num_envs", 8) * hparams.get("num_steps", 128)
        )
        seed = check_seed("Agent", "seed", seed)
        self.config = make_config(algo, env_id=env_id, **hparams)  # ConfigError before any env
        # unknown ids fail here, with suggestions, before any environment exists
        backend = resolve_backend(
            env_id, vectorization, self.config.num_envs, step_timeout, self.config.env_kwargs
        )
        self.on_nan = check_on_nan("Agent", on_nan)
        self.step_timeout = step_timeout
        # config.name, not ``algo``: a composition's spelling is stored as ``composed`` + fields
        self.algo, self.env_id, self.seed = self.config.name, env_id, seed
        if checkpoint_every is None:
            checkpoint_every = default_checkpoint_every(self.config.rollout_size)
        check_int("Agent", "checkpoint_every", checkpoint_every, 1)
        self.settings: dict[str, Any] = {
            "vectorization": backend,
            "normalize_obs": bool(normalize_obs),
            "normalize_reward": bool(normalize_reward),
            "checkpoint_every": int(checkpoint_every),
        }
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path is not None else None
        self.trainer = HostTrainer(
            self.config,
            seed,
            backend,
            normalize_obs,
            normalize_reward,
            checkpoint_every,
            on_nan,
            step_timeout,
        )
        self.state: HostState = self.trainer.init_state()
        self._predict_rng = np.random.default_rng([seed, 1])
        self._policy_cache: tuple[Any, HostPolicy] | None = None
        #: seconds spent in ``learn`` over the whole run, resumed parts included (saved)
        self.train_seconds = 0.0

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
        ``checkpoint_every`` updates (segment boundaries) and at the end of the run. On Ctrl-C
        or a ``callback`` stop the last segment checkpoint is kept, not overwritten with a
        mid-segment state (Ctrl-C then re-raises ``KeyboardInterrupt``): environments cannot
        be saved mid-episode, but every segment starts from freshly seeded ones, so
        ``learn(..., resume=True)`` from a segment checkpoint reproduces the uninterrupted run
        exactly (at the cost of redoing at most one segment, ≥ 50,000 steps by default).

        A run-time failure (:class:`~policyopt.faults.NonFiniteError`,
        :class:`~policyopt.faults.EnvError`, :class:`~policyopt.faults.EnvTimeoutError`) keeps
        the last segment checkpoint the same way; the guard rejects every non-finite update,
        so no checkpoint ever holds NaN parameters, and ``self.state`` keeps the last good
        learner.
        """
        for _ in self._learning(total_timesteps, callback, progress_bar, resume):
            pass
        return self

    def _learning(
        self,
        total_timesteps: int,
        callback: Callable[[dict[str, float]], bool | None] | None = None,
        progress_bar: bool = False,
        resume: bool = False,
        display: Any = None,
    ) -> Generator[None, None, None]:
        """:meth:`learn` as a generator that yields while each update computes.

        Between ``start_update`` (rollout, then the jitted update dispatched) and
        ``finish_update`` it yields: :func:`learn_together` steps other agents then, so one
        seed's update runs on XLA's threads while another seed collects. Alone (``learn``)
        the yield does nothing. ``display``: a shared rich ``Progress`` for the bar.
        """
        check_int("Agent.learn", "total_timesteps", total_timesteps, self.config.rollout_size)
        if resume and self.checkpoint_path is not None and self.checkpoint_path.exists():
            self._restore(self.checkpoint_path)
        target = total_timesteps // self.config.rollout_size
        self.trainer.total_updates = target
        every = self.settings["checkpoint_every"]
        if self.checkpoint_path is not None and self.state.update % every == 0:
            self.save(self.checkpoint_path)
        bar = _ProgressBar(self, target, display) if progress_bar else None
        clock = time.perf_counter()
        try:
            while self.state.update < target:
                pending = self.trainer.start_update(self.state)
                yield
                metrics = self.trainer.finish_update(self.state, pending)
                now = time.perf_counter()
                self.train_seconds, clock = self.train_seconds + now - clock, now
                if bar is not None:
                    bar.advance(metrics)
                if self.checkpoint_path is not None and self.state.update % every == 0:
                    self.save(self.checkpoint_path)
                if callback is not None and callback(metrics) is False:
                    break
        finally:
            if bar is not None:
                bar.stop()
        finished = self.state.update >= target
        if self.checkpoint_path is not None and finished and self.state.update % every != 0:
            # The finished run. A callback stop mid-segment keeps the last segment checkpoint
            # instead, as Ctrl-C does: a mid-segment state cannot resume exactly.
            self.save(self.checkpoint_path)

    def close(self) -> None:
        """Close the training environments now (worker processes, EnvPool threads) instead
        of at garbage collection; ``learn`` opens new ones if called again."""
        self.trainer.close()

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
        envs = make_host_env(
            self.env_id,
            n_episodes,
            self.settings["vectorization"],
            self.step_timeout,
            self.config.env_kwargs,
        )
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
        suffix = check_video_path(path)
        check_int("Agent.record", "episodes", episodes, 1)
        if self.env_id not in gym.registry:
            raise ConfigError(
                "Agent.record", "env_id", f"{self.env_id!r} is not a Gymnasium id (no renderer)"
            )
        with warnings.catch_warnings():  # an unsupported mode only warns: we check below
            warnings.simplefilter("ignore", UserWarning)
            env = gym.make(self.env_id, render_mode="rgb_array", **self.config.env_kwargs)
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
        if suffix == ".mp4":
            import imageio.v2 as imageio
        with atomic_path(path, keep_suffix=True) as tmp:
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
                imageio.mimwrite(tmp, frames, fps=fps, macro_block_size=1)  # type: ignore[arg-type]
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

    def _state_template(self) -> dict[str, Any]:
        """What a checkpoint of this agent must hold: a fresh agent's tree built from the same
        config and environment (network shapes, optimiser state, RNG key, statistics)."""
        template = self._state_tree()
        window = self.state.episode_returns.maxlen or 100
        template["episode_returns"] = AnyLength(np.float64, window)
        template["episode_lengths"] = AnyLength(np.int64, window)
        return template

    def identity(self) -> dict[str, Any]:
        """Recipe, env, seed, config and settings: what a checkpoint of this agent repeats."""
        return identity(self.algo, self.env_id, self.seed, self.config, self.settings)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a checkpoint (pickle-free, atomic) with everything needed to resume exactly."""
        meta = {
            "library_version": policyopt.__version__,
            **self.identity(),
            "update": self.state.update,
            "history": self.state.history,
            "train_seconds": self.train_seconds,
        }
        return write_checkpoint(path, meta, self._state_tree())

    def _restore(self, path: Path) -> None:
        """Continue from ``path``, which must be a checkpoint of this very agent (same recipe,
        env, seed, config and settings); the error lists every field that differs."""
        meta, state = read_checkpoint(path)
        checked = check_agent_meta(path, meta)
        found = identity(checked.algo, checked.env_id, checked.seed, checked.config,
                         checked.settings)  # fmt: skip
        diffs = field_differences(found, self.identity(), "checkpoint", "this agent")
        if diffs:
            raise CheckpointError(
                f"{path}: written by a different agent, refusing to resume: {'; '.join(diffs)}"
            )
        self._restore_state(path, checked.update, checked.history, checked.train_seconds, state)

    def _restore_state(
        self,
        path: Path,
        update: int,
        history: list[dict[str, float]],
        train_seconds: float,
        state: dict[str, Any],
    ) -> None:
        """Install a checkpoint's state after checking every leaf against this agent's."""
        restored = verify_state(path, self._state_template(), state)
        returns = np.asarray(restored["episode_returns"])
        lengths = np.asarray(restored["episode_lengths"])
        if len(returns) != len(lengths):
            raise CheckpointError(
                f"{path}: state.episode_returns has {len(returns)} entries, "
                f"state.episode_lengths {len(lengths)}"
            )
        s = self.state
        s.learner = jax.tree.map(jnp.asarray, restored["learner"])
        s.key = jnp.asarray(restored["key"], dtype=jnp.uint32)
        s.update = update
        s.history = list(history)
        s.episode_returns = deque(returns.tolist(), maxlen=s.episode_returns.maxlen)
        s.episode_lengths = deque(lengths.tolist(), maxlen=s.episode_lengths.maxlen)
        for name in ("obs_rms", "ret_rms"):
            if name in restored:
                r = restored[name]
                rms = RunningMeanStd(np.array(r["mean"]), np.array(r["var"]), float(r["count"]))
                setattr(s, name, rms)
        self.train_seconds = train_seconds
        self.trainer._obs = None  # force the segment's deterministic reseed

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], checkpoint_path: str | os.PathLike[str] | None = None
    ) -> Agent:
        """Rebuild an Agent from a checkpoint (config, parameters, optimiser, RNG, statistics).

        Nothing unverified is returned: the file's digest, every meta field, and every array's
        path, shape and dtype against the networks the meta describes are checked first
        (:class:`CheckpointError` names the file and the field).
        """
        path = Path(path)
        meta, state = read_checkpoint(path)
        m = check_agent_meta(path, meta)
        cfg = {k: v for k, v in m.config.items() if k != "env_id"}
        try:
            agent = cls(
                m.algo,
                m.env_id,
                seed=m.seed,
                vectorization=m.settings["vectorization"],
                normalize_obs=m.settings["normalize_obs"],
                normalize_reward=m.settings["normalize_reward"],
                checkpoint_path=checkpoint_path if checkpoint_path is not None else path,
                checkpoint_every=m.settings["checkpoint_every"],
                **cfg,
            )
        except ConfigError as err:
            raise CheckpointError(
                f"{path}: meta describes an agent that cannot be built ({err})"
            ) from err
        agent._restore_state(path, m.update, m.history, m.train_seconds, state)
        return agent


def progress_display() -> Any:
    """A rich ``Progress`` with the columns of a training bar (one task per agent)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[sps]:>8} steps/s"),
        TextColumn("return {task.fields[ret]:>8}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )


def learn_together(
    agents: Sequence[Agent],
    total_timesteps: int,
    progress_bar: bool = False,
    resume: bool = False,
) -> list[Agent]:
    """``agent.learn(total_timesteps)`` for every agent, in lockstep in this process.

    Each round, every agent collects its rollout and dispatches its update; JAX runs that
    update on XLA's threads while the next agent steps its environments, so the seeds' updates
    overlap their rollouts instead of following them. How much that saves depends on free
    cores: on 2 cores, where one PPO seed on LunarLander-v3 already keeps both busy, 5 seeds
    take 4.86× the wall time of one (``benchmarks/results/host_seeds.json``). Every agent
    keeps its own environments, random streams, checkpoints and history: each one's numbers are
    bit-identical to its own ``learn`` call, whatever the number of agents. (The updates
    are not ``vmap``-ed over seeds on purpose: a vmapped update differs from the single one
    by float32 round-off, ~3e-8 on LunarLander, and a seed's result would then depend on how
    many seeds ran beside it.)

    An exception in any agent (a non-finite update, a failed environment, Ctrl-C) stops all
    of them and is re-raised; each keeps its last segment checkpoint, so ``resume=True``
    continues every seed exactly.
    """
    display = progress_display() if progress_bar else None
    runs = [a._learning(total_timesteps, None, progress_bar, resume, display) for a in agents]
    if display is not None:
        display.start()
    try:
        while runs:
            for run in list(runs):
                try:
                    next(run)
                except StopIteration:
                    runs.remove(run)
    finally:
        for run in runs:
            run.close()
        if display is not None:
            display.stop()
    return list(agents)


class _ProgressBar:
    """rich progress: steps, steps per second, recent return and ETA."""

    def __init__(self, agent: Agent, target_updates: int, display: Any = None) -> None:
        self.agent = agent
        self.shared = display is not None
        self.progress = display if display is not None else progress_display()
        self.task = self.progress.add_task(
            f"{agent.algo} {agent.env_id}" + (f" seed {agent.seed}" if self.shared else ""),
            total=target_updates * agent.config.rollout_size,
            completed=agent.num_timesteps,
            sps="–",
            ret="–",
        )
        if not self.shared:
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
        if not self.shared:
            self.progress.stop()
