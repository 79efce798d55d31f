"""Host training: any Gymnasium (or EnvPool, or gymnax) environment, the compiled recipes' update.

The host loop only steps vector environments (:mod:`policyopt.envs.host_env`) and moves
arrays. The update (the same :func:`policyopt.algorithms.make_recipe` update the compiled
loop uses, after the same :func:`policyopt.algorithms.make_batch`) is jitted; acting runs in
NumPy on the current parameters (:mod:`policyopt.host_policy`: an XLA:CPU call costs ~50 µs
per step whatever the batch, a NumPy forward pass ~3 µs).
Truncations bootstrap from the value of the final observation; terminations do not.

Faults (:mod:`policyopt.guard`): observations and rewards are checked with NumPy right after
every environment step (a NaN or inf raises :class:`~policyopt.faults.NonFiniteError` naming
the env id, step and env index); an exception from the environment is re-raised as
:class:`~policyopt.faults.EnvError` naming the env id and the step; the update is the shared
guarded update, whose rejected steps raise (``on_nan="raise"``) or are counted
(``on_nan="skip"``). After an environment fault the vector env is closed and recreated by
the next rollout. The learner is never replaced by a rejected one, so nothing non-finite
reaches a checkpoint.

Exact resume: environments are (re)seeded from ``(seed, update index)`` at the start of
every checkpoint segment, in uninterrupted and resumed runs alike, so a run resumed from its
last checkpoint reproduces the uninterrupted run bit for bit. Episodes cut at a segment
boundary are treated as truncations (bootstrapped), which keeps the estimator unbiased.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from policyopt.algorithms import Learner, Transition, make_recipe
from policyopt.compile_cache import enable_compilation_cache
from policyopt.configs import BaseConfig, hparams
from policyopt.envs.host_env import HostStep, HostVecEnv, make_host_env
from policyopt.faults import (
    NONFINITE,
    QUANTITIES,
    REJECTED,
    EnvError,
    NonFiniteError,
    check_env_output,
    check_on_nan,
    is_fatal,
)
from policyopt.guard import guarded_update
from policyopt.host_policy import HostPolicy
from policyopt.nn import Networks, make_networks

__all__ = ["HostState", "HostTrainer", "PendingUpdate", "RunningMeanStd", "segment_seed"]


@dataclass
class RunningMeanStd:
    """Running mean and variance (Chan et al. parallel update), as SB3's VecNormalize."""

    mean: np.ndarray
    var: np.ndarray
    count: float = 1e-4

    @classmethod
    def zeros(cls, shape: tuple[int, ...]) -> RunningMeanStd:
        return cls(np.zeros(shape, np.float64), np.ones(shape, np.float64))

    def update(self, x: np.ndarray) -> None:
        b_mean, b_var, b_n = x.mean(axis=0), x.var(axis=0), x.shape[0]
        delta, total = b_mean - self.mean, self.count + b_n
        self.mean = self.mean + delta * b_n / total
        m2 = self.var * self.count + b_var * b_n + delta**2 * self.count * b_n / total
        self.var, self.count = m2 / total, total


def segment_seed(seed: int, update: int) -> int:
    """A well-mixed 31-bit environment seed for the segment starting at ``update``."""
    return int(np.random.SeedSequence([seed, update]).generate_state(1)[0] % (2**31 - 2**16))


@dataclass
class HostState:
    """Everything a run carries between updates (what a checkpoint stores)."""

    learner: Learner
    key: jax.Array
    update: int = 0
    obs_rms: RunningMeanStd | None = None
    ret_rms: RunningMeanStd | None = None
    episode_returns: deque = field(default_factory=lambda: deque(maxlen=100))
    episode_lengths: deque = field(default_factory=lambda: deque(maxlen=100))
    history: list[dict[str, float]] = field(default_factory=list)


class HostTrainer:
    """Runs a recipe's update on rollouts collected from host vector environments.

    Args:
        config: the recipe's config (validated already).
        seed: seeds parameters, sampling and every segment's environment resets.
        backend: "auto", "envpool", "sync", "async" or "gymnax" (see
            :func:`policyopt.envs.host_env.resolve_backend`).
        normalize_obs / normalize_reward: SB3 ``VecNormalize``-style running statistics
            (observations clipped to ±10 after normalisation, scaled rewards to ±10).
        segment_updates: updates per segment (environments are reseeded at segment starts).
        on_nan: "raise" or "skip" non-finite updates (:mod:`policyopt.guard`).
        step_timeout: seconds an async environment may take per step (None: no limit).
    """

    def __init__(
        self,
        config: BaseConfig,
        seed: int = 0,
        backend: str = "auto",
        normalize_obs: bool = False,
        normalize_reward: bool = False,
        segment_updates: int = 10,
        on_nan: str = "raise",
        step_timeout: float | None = None,
    ) -> None:
        self.config = config
        self.seed = seed
        self.normalize_obs = normalize_obs
        self.normalize_reward = normalize_reward
        self.segment_updates = max(1, int(segment_updates))
        self.on_nan = check_on_nan("HostTrainer", on_nan)
        self.step_timeout = step_timeout
        self.envs: HostVecEnv = make_host_env(
            config.env_id, config.num_envs, backend, step_timeout, config.env_kwargs
        )
        self._envs_broken = False
        self.backend = self.envs.backend
        self.spec = self.envs.action_spec
        self.obs_shape = self.envs.obs_shape
        self.nets: Networks = make_networks(
            self.spec, config.hidden_sizes, config.activation, log_std_init=config.log_std_init
        )
        self.recipe = make_recipe(config, self.nets)
        self.hp = hparams(config)
        enable_compilation_cache()
        self._update = jax.jit(guarded_update(self.recipe, self.nets))
        self._low = None if self.spec.discrete else np.asarray(self.spec.low, np.float32)
        self._high = None if self.spec.discrete else np.asarray(self.spec.high, np.float32)
        self._obs: np.ndarray | None = None
        self.total_updates = config.num_updates

    # ------------------------------------------------------------------ acting
    def host_policy(self, learner: Learner) -> HostPolicy:
        """The learner's actor and critic in NumPy (see :mod:`policyopt.host_policy`)."""
        actor, critic = jax.device_get((learner.actor, learner.critic))
        return HostPolicy(self.spec, self.config.activation, actor, critic)

    def env_action(self, action: np.ndarray) -> np.ndarray:
        """What the environment receives: Gaussian samples clipped to the Box bounds."""
        return action if self.spec.discrete else np.clip(action, self._low, self._high)

    # ------------------------------------------------------------------ state
    def init_state(self) -> HostState:
        key = jax.random.PRNGKey(self.seed)
        key, k_a, k_c = jax.random.split(key, 3)
        dummy = jnp.zeros((1, *self.obs_shape), jnp.float32)
        learner = self.recipe.init(k_a, k_c, dummy, self.hp)
        return HostState(
            learner=learner,
            key=key,
            obs_rms=RunningMeanStd.zeros(self.obs_shape) if self.normalize_obs else None,
            ret_rms=RunningMeanStd.zeros(()) if self.normalize_reward else None,
        )

    def normalize(self, obs: np.ndarray, state: HostState) -> np.ndarray:
        if state.obs_rms is None:
            return np.asarray(obs, np.float32)
        return np.clip(
            (obs - state.obs_rms.mean) / np.sqrt(state.obs_rms.var + 1e-8), -10, 10
        ).astype(np.float32)

    # ------------------------------------------------------------------ environment calls
    def _env_call(self, fn: Callable[[], Any], where: str) -> Any:
        """Call the vector env; an exception becomes an :class:`EnvError` naming env and step.

        A failed vector env (a worker died, a step half-applied, a timeout) is closed and
        recreated by the next rollout, never stepped again.
        """
        try:
            return fn()
        except EnvError as err:
            err.where = err.where or where
            self._discard_envs()
            raise
        except Exception as err:
            self._discard_envs()
            raise EnvError(
                self.config.env_id, self.backend, f"{type(err).__name__}: {err}", where
            ) from err

    def close(self) -> None:
        """Close the vector environment (a later rollout opens a new one)."""
        self._discard_envs()

    def _discard_envs(self) -> None:
        self._envs_broken, self._obs = True, None
        with contextlib.suppress(Exception):  # already failing: the original error matters
            self.envs.close()

    def _step(self, action: np.ndarray, state: HostState, t: int) -> HostStep:
        out = self._env_call(
            lambda: self.envs.step(self.env_action(action)), f"step {t} of update {state.update}"
        )
        env_id, seed = self.config.env_id, self.seed
        check_env_output(out.obs, out.reward, env_id, state.update, t, seed)
        if out.final_obs is not out.obs:
            check_env_output(out.final_obs, out.reward, env_id, state.update, t, seed)
        return out

    # ------------------------------------------------------------------ loop
    def _start_segment(self, state: HostState) -> None:
        n = self.config.num_envs
        if self._envs_broken:
            cfg = self.config
            self.envs = make_host_env(
                cfg.env_id, n, self.backend, self.step_timeout, cfg.env_kwargs
            )
            self._envs_broken = False
        seed = segment_seed(self.seed, state.update)
        obs = self._env_call(lambda: self.envs.reset(seed), f"reset of update {state.update}")
        check_env_output(obs, np.zeros(n), self.config.env_id, state.update, None, self.seed)
        self._obs = obs
        self._ep_ret, self._ep_len = np.zeros(n), np.zeros(n, np.int64)
        self._disc_ret = np.zeros(n)

    def collect(self, state: HostState) -> Transition:
        """One rollout ``[num_steps, num_envs]`` from the current policy (host side)."""
        cfg = self.config
        if state.update % self.segment_updates == 0 or self._obs is None:
            self._start_segment(state)
        T, N = cfg.num_steps, cfg.num_envs
        obs_buf = np.empty((T, N, *self.obs_shape), np.float32)
        final_buf = np.empty_like(obs_buf)
        act_shape = () if self.spec.discrete else (self.spec.n,)
        act_buf = np.empty((T, N, *act_shape), np.int32 if self.spec.discrete else np.float32)
        logp_buf, value_buf, rew_buf = (np.empty((T, N), np.float32) for _ in range(3))
        term_buf, done_buf = np.empty((T, N), bool), np.empty((T, N), bool)
        segment_ends = (state.update + 1) % self.segment_updates == 0
        raw = self._obs
        assert raw is not None  # set by _start_segment above
        state.key, k_roll = jax.random.split(state.key)
        rng = np.random.default_rng(np.asarray(k_roll, np.uint32))
        policy = self.host_policy(state.learner)
        for t in range(T):
            if state.obs_rms is not None:
                state.obs_rms.update(raw)
            obs = self.normalize(raw, state)
            action, logp = policy.sample(obs, rng)
            value = policy.value(obs)
            out = self._step(action, state, t)
            ended = out.terminated | out.truncated
            # The last step of a segment truncates every episode (the next segment reseeds).
            done = np.ones(N, bool) if (segment_ends and t == T - 1) else ended
            self._ep_ret += out.reward
            self._ep_len += 1
            if ended.any():
                state.episode_returns.extend(self._ep_ret[ended].tolist())
                state.episode_lengths.extend(self._ep_len[ended].tolist())
                self._ep_ret[ended], self._ep_len[ended] = 0.0, 0
            reward = out.reward
            if state.ret_rms is not None:
                self._disc_ret = self._disc_ret * cfg.gamma + reward
                state.ret_rms.update(self._disc_ret.reshape(-1))
                self._disc_ret[done] = 0.0
                reward = np.clip(reward / np.sqrt(state.ret_rms.var + 1e-8), -10, 10)
            obs_buf[t], act_buf[t], logp_buf[t], value_buf[t] = obs, action, logp, value
            rew_buf[t], term_buf[t], done_buf[t] = reward, out.terminated, done
            final_buf[t] = self.normalize(out.final_obs, state)
            raw = out.obs
        self._obs = raw
        return Transition(  # type: ignore[call-arg]  # mypy: positionals after *args
            *map(jnp.asarray, (obs_buf, act_buf, logp_buf, value_buf, rew_buf, term_buf)),
            jnp.asarray(done_buf),
            jnp.asarray(final_buf),
        )

    def run_update(self, state: HostState) -> dict[str, float]:
        """Collect one rollout, update, and return this update's metrics (SB3 names).

        Raises:
            NonFiniteError: the update was rejected as non-finite and ``on_nan="raise"``
                (``state`` keeps the last good learner and update count).
            EnvError: the environment raised or timed out (``EnvTimeoutError``).
        """
        return self.finish_update(state, self.start_update(state))

    def start_update(self, state: HostState) -> PendingUpdate:
        """Collect one rollout and dispatch its update, without waiting for it.

        JAX dispatches the jitted update asynchronously: it runs on XLA's threads while the
        caller does something else — in :func:`policyopt.agent.learn_together`, another
        seed's rollout. :meth:`finish_update` waits for it and applies it.
        """
        traj = self.collect(state)
        state.key, k = jax.random.split(state.key)
        # Schedules (learning-rate annealing, MDPO's t_k) run over the current learn() call's
        # horizon, set by the caller; it defaults to the config's total_timesteps.
        progress = jnp.float32(min(state.update / max(self.total_updates, 1), 1.0))
        learner, metrics = self._update(
            state.learner, traj, k, self.hp, progress, jnp.int32(state.update)
        )
        return PendingUpdate(learner, metrics)

    def finish_update(self, state: HostState, pending: PendingUpdate) -> dict[str, float]:
        """Wait for a :meth:`start_update` and apply it to ``state``; its metrics."""
        out = {k: float(v) for k, v in jax.device_get(pending.metrics).items()}
        code = int(out[NONFINITE])
        if is_fatal(code, self.on_nan):
            raise NonFiniteError(QUANTITIES[code - 1], state.update, self.config.env_id, self.seed)
        previous = state.history[-1].get(REJECTED, 0.0) if state.history else 0.0
        out[REJECTED] = previous + float(code > 0)
        state.learner = pending.learner  # the old learner when the guard rejected the step
        state.update += 1
        out["rollout/ep_rew_mean"] = (
            float(np.mean(state.episode_returns)) if state.episode_returns else float("nan")
        )
        out["rollout/ep_len_mean"] = (
            float(np.mean(state.episode_lengths)) if state.episode_lengths else float("nan")
        )
        out["time/total_timesteps"] = float(state.update * self.config.rollout_size)
        state.history.append(out)
        return out


@dataclass(frozen=True)
class PendingUpdate:
    """A dispatched update: the new learner and its metrics, possibly still computing."""

    learner: Learner
    metrics: dict[str, jax.Array]
