"""Host training: any Gymnasium environment, the compiled recipes' update code.

The host loop only steps vectorised Gymnasium environments and moves arrays; acting and the
update (the same :func:`policyopt.algorithms.make_recipe` update the compiled loop uses) are
jitted. Environments run with Gymnasium's ``SAME_STEP`` autoreset, so the observation that
ended an episode is available (``final_obs``) and truncations bootstrap from its value while
terminations do not.

Exact resume: environments are (re)seeded from ``(seed, update index)`` at the start of
every checkpoint segment, in uninterrupted and resumed runs alike, so a run resumed from its
last checkpoint reproduces the uninterrupted run bit for bit. Episodes cut at a segment
boundary are treated as truncations (bootstrapped), which keeps the estimator unbiased.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from policyopt.algorithms import Learner, Transition, make_batch, make_recipe
from policyopt.configs import BaseConfig, hparams
from policyopt.errors import ConfigError, suggest
from policyopt.nn import ActionSpec, Networks, make_networks

__all__ = ["HostState", "HostTrainer", "RunningMeanStd", "action_spec_of", "make_vec_env"]


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


def action_spec_of(space: gym.Space) -> ActionSpec:
    """The policy head for a Gymnasium action space; unsupported spaces are named in the error."""
    if isinstance(space, gym.spaces.Discrete):
        return ActionSpec("discrete", int(space.n))
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
        return ActionSpec(
            "continuous",
            int(space.shape[0]),
            tuple(map(float, space.low)),
            tuple(map(float, space.high)),
        )
    raise ConfigError(
        "env",
        "action_space",
        f"{type(space).__name__}{space.shape} is not supported (Discrete or 1-D Box)",
    )


def _check_obs_space(space: gym.Space) -> None:
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise ConfigError(
            "env",
            "observation_space",
            f"{type(space).__name__}{getattr(space, 'shape', '')} is not supported yet "
            "(1-D Box only; no Dict, Tuple or images)",
        )


def make_vec_env(env_id: str, num_envs: int, vectorization: str = "sync") -> gym.vector.VectorEnv:
    """Gymnasium vector env with SAME_STEP autoreset; unknown ids suggest registered ones."""
    if env_id not in gym.registry:
        raise ConfigError(
            "env", "env_id", f"unknown Gymnasium id {env_id!r}{suggest(env_id, list(gym.registry))}"
        )
    if vectorization not in ("sync", "async"):
        raise ConfigError("env", "vectorization", f"got {vectorization!r}; allowed: sync, async")
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode=vectorization,
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
    )


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
    """Runs a recipe's update on rollouts collected from Gymnasium vector environments."""

    def __init__(
        self,
        config: BaseConfig,
        seed: int = 0,
        vectorization: str = "sync",
        normalize_obs: bool = False,
        normalize_reward: bool = False,
        segment_updates: int = 10,
    ) -> None:
        self.config = config
        self.seed = seed
        self.normalize_obs = normalize_obs
        self.normalize_reward = normalize_reward
        self.segment_updates = max(1, int(segment_updates))
        self.envs = make_vec_env(config.env_id, config.num_envs, vectorization)
        _check_obs_space(self.envs.single_observation_space)
        self.spec = action_spec_of(self.envs.single_action_space)
        self.nets: Networks = make_networks(
            self.spec, config.hidden_sizes, config.activation, log_std_init=config.log_std_init
        )
        self.recipe = make_recipe(config, self.nets)
        self.hp = hparams(config)
        self._update = jax.jit(self.recipe.update)
        self._act = jax.jit(self._act_fn)
        self._prepare = jax.jit(lambda critic, traj, hp: make_batch(self.nets, critic, traj, hp))
        self._obs = None
        self.total_updates = config.num_updates

    # ------------------------------------------------------------------ jitted pieces
    def _act_fn(
        self, actor: Any, critic: Any, obs: jax.Array, key: jax.Array, t: jax.Array
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        dist = self.nets.policy(actor, obs)
        action = dist.sample(jax.random.fold_in(key, t))  # one key per rollout, no split per step
        return action, dist.log_prob(action), self.nets.value(critic, obs)

    # ------------------------------------------------------------------ state
    def init_state(self) -> HostState:
        key = jax.random.PRNGKey(self.seed)
        key, k_a, k_c = jax.random.split(key, 3)
        dummy = jnp.zeros((1, *self.envs.single_observation_space.shape), jnp.float32)
        learner = self.recipe.init(k_a, k_c, dummy, self.hp)
        shape = self.envs.single_observation_space.shape
        return HostState(
            learner=learner,
            key=key,
            obs_rms=RunningMeanStd.zeros(shape) if self.normalize_obs else None,
            ret_rms=RunningMeanStd.zeros(()) if self.normalize_reward else None,
        )

    def normalize(self, obs: np.ndarray, state: HostState) -> np.ndarray:
        if state.obs_rms is None:
            return obs.astype(np.float32)
        return np.clip(
            (obs - state.obs_rms.mean) / np.sqrt(state.obs_rms.var + 1e-8), -10, 10
        ).astype(np.float32)

    # ------------------------------------------------------------------ loop
    def run_update(self, state: HostState) -> dict[str, float]:
        """Collect one rollout, update, and return this update's metrics (SB3 names)."""
        cfg = self.config
        if state.update % self.segment_updates == 0 or self._obs is None:
            seed = self.seed * 1_000_003 + state.update
            raw, _ = self.envs.reset(seed=[seed * 97 + i for i in range(cfg.num_envs)])
            self._obs, self._ep_ret, self._ep_len, self._disc_ret = (
                raw,
                np.zeros(cfg.num_envs),
                np.zeros(cfg.num_envs, int),
                np.zeros(cfg.num_envs),
            )
        T, N = cfg.num_steps, cfg.num_envs
        bufs = {
            k: []
            for k in ("obs", "action", "logp", "value", "reward", "terminated", "done", "final_obs")
        }
        raw = self._obs
        state.key, k_roll = jax.random.split(state.key)
        for t in range(T):
            if state.obs_rms is not None:
                state.obs_rms.update(raw)
            obs = self.normalize(raw, state)
            action, logp, value = jax.device_get(
                self._act(state.learner.actor, state.learner.critic, obs, k_roll, t)
            )
            env_action = (
                action if self.spec.discrete else np.clip(action, self.spec.low, self.spec.high)
            )
            nxt, reward, term, trunc, info = self.envs.step(env_action)
            ended = term | trunc  # episodes the environment ended
            cut = t == T - 1 and (state.update + 1) % self.segment_updates == 0
            done = np.ones(N, bool) if cut else ended  # a segment end truncates every episode
            final = nxt.copy()
            if "_final_obs" in info:
                for i in np.flatnonzero(info["_final_obs"]):
                    final[i] = info["final_obs"][i]
            self._ep_ret += reward
            self._ep_len += 1
            for i in np.flatnonzero(ended):
                state.episode_returns.append(float(self._ep_ret[i]))
                state.episode_lengths.append(int(self._ep_len[i]))
                self._ep_ret[i], self._ep_len[i] = 0.0, 0
            if state.ret_rms is not None:
                self._disc_ret = self._disc_ret * cfg.gamma + reward
                state.ret_rms.update(self._disc_ret.reshape(-1))
                self._disc_ret[done] = 0.0
                reward = reward / np.sqrt(state.ret_rms.var + 1e-8)
            for name, val in (
                ("obs", obs),
                ("action", action),
                ("logp", np.asarray(logp)),
                ("value", np.asarray(value)),
                ("reward", reward.astype(np.float32)),
                ("terminated", term),
                ("done", done),
                ("final_obs", self.normalize(final, state)),
            ):
                bufs[name].append(val)
            raw = nxt
        self._obs = raw
        traj = Transition(**{k: jnp.asarray(np.stack(v)) for k, v in bufs.items()})
        batch = self._prepare(state.learner.critic, traj, self.hp)
        state.key, k = jax.random.split(state.key)
        # Schedules (learning-rate annealing, MDPO's t_k) run over the current learn() call's
        # horizon, set by the caller; it defaults to the config's total_timesteps.
        progress = jnp.float32(min(state.update / max(self.total_updates, 1), 1.0))
        learner, metrics = self._update(
            state.learner, batch, k, self.hp, progress, jnp.int32(state.update)
        )
        state.learner = learner
        state.update += 1
        out = {k: float(v) for k, v in jax.device_get(metrics).items()}
        out["rollout/ep_rew_mean"] = (
            float(np.mean(state.episode_returns)) if state.episode_returns else float("nan")
        )
        out["rollout/ep_len_mean"] = (
            float(np.mean(state.episode_lengths)) if state.episode_lengths else float("nan")
        )
        out["time/total_timesteps"] = float(state.update * cfg.rollout_size)
        state.history.append(out)
        return out

    def train(
        self,
        state: HostState,
        n_updates: int,
        callback: Callable[[dict[str, float]], bool | None] | None = None,
    ) -> HostState:
        for _ in range(n_updates):
            metrics = self.run_update(state)
            if callback is not None and callback(metrics) is False:
                break
        return state
