"""Settings for an environment that has no tuned preset: what a practitioner would choose.

A preset (:mod:`policyopt.presets`) is tuned for one (recipe, environment) pair. For any other
environment the config defaults are CleanRL's classic-control settings, which are a poor start
for a MuJoCo robot or a 1000-step Box2D task. So, when there is no preset, the environment's
traits choose a family of settings, each taken from the libraries that publish tuned results:

- **continuous control** (a ``Box`` action space): rollouts of 2048 steps (8 envs × 256),
  GAE λ 0.95, γ 0.99, Adam 3e-4 with 10 epochs of minibatch 64 for the first-order recipes
  (CleanRL's ``ppo_continuous_action`` and rl-baselines3-zoo's MuJoCo entries), the config's
  (64, 64) networks at every observation size, and running observation
  normalisation and return-based reward scaling (SB3's ``VecNormalize``, which every zoo
  MuJoCo entry uses; the compiled level has the same in its loop);
- **long-horizon discrete control** (episodes of 1000 steps or more, e.g. LunarLander): 16 envs
  × 512 steps, γ 0.999, GAE λ 0.98 and an entropy bonus of 0.01 (rl-baselines3-zoo's
  LunarLander entries, which is where such tasks are tuned);
- otherwise (short discrete tasks) the config defaults, which are already tuned for them.

Observation normalisation is also switched on where an observation feature's whole range is
below 0.1 (MountainCar's velocity: a tanh network's initial weights cannot see it), and reward
scaling where the env's solved threshold is 1000 or more in magnitude. Only fields the
recipe's config has are set, a user's ``--set`` always wins, and
:class:`~policyopt.experiments.RunSpec` records what was applied in ``config.json``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any

from policyopt.env_kwargs import EnvKwargs

__all__ = ["EnvDefaults", "EnvTraits", "env_defaults", "env_traits"]

_CONTINUOUS = {
    "num_envs": 8,
    "num_steps": 256,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "learning_rate": 3e-4,
    "n_epochs": 10,
    "batch_size": 64,
    "vf_batch_size": 64,
    "vf_epochs": 10,
}
_LONG_DISCRETE = {
    "num_envs": 16,
    "num_steps": 512,
    "gamma": 0.999,
    "gae_lambda": 0.98,
    "ent_coef": 0.01,
    "vf_batch_size": 512,
}
# A feature whose whole range is below this is invisible to freshly initialised weights (e.g.
# MountainCar's velocity, |v| <= 0.07): such an env gets running observation normalisation,
# as rl-baselines3-zoo's MountainCar entries have.
_SMALL_SCALE = 0.1
# A2C-style vanilla PG takes one gradient step per rollout: it keeps its own short rollouts.
_KEEP_ROLLOUT = ("pg", "acktr")


@dataclass(frozen=True)
class EnvTraits:
    """What the defaults depend on, read from the environment's spaces and registry entry."""

    continuous: bool
    obs_dim: int
    max_episode_steps: int | None
    reward_threshold: float | None
    smallest_obs_bound: float | None = None  # min over dims of max(|low|, |high|), finite ones


@dataclass(frozen=True)
class EnvDefaults:
    """The settings applied to a (recipe, environment) without a preset, and why."""

    kind: str
    config: dict[str, Any]
    run: dict[str, bool]

    #: fields the user set themselves (``--set``, ``--normalize``): not the defaults' doing
    yours: tuple[str, ...] = ()

    def describe(self) -> str:
        fields = {**self.config, **self.run}
        text = f"using defaults for {self.kind}: " + (
            ", ".join(f"{k}={v}" for k, v in fields.items()) or "none left"
        )
        return text + (f" (yours: {', '.join(self.yours)})" if self.yours else "")

    def less(self, config_keys: set[str], run_keys: set[str]) -> EnvDefaults:
        """These defaults without the fields the user set: what the defaults decided."""
        config = {k: v for k, v in self.config.items() if k not in config_keys}
        run = {k: v for k, v in self.run.items() if k not in run_keys}
        yours = [k for k in (*self.config, *self.run) if k not in config and k not in run]
        return EnvDefaults(self.kind, config, run, tuple(yours))

    def to_json(self) -> dict[str, Any]:
        out = {"kind": self.kind, "config": dict(self.config), "run": dict(self.run)}
        return out | ({"yours": list(self.yours)} if self.yours else {})


@functools.cache
def env_traits(env_id: str, level: str, env_kwargs: EnvKwargs | None = None) -> EnvTraits | None:
    """The env's traits (made with ``env_kwargs``), or None where they cannot be read here (an
    id no installed backend can make: training then fails with its own clear message).

    Gymnasium's env is asked first; where it cannot be made (an id only EnvPool has, or a
    MuJoCo id with EnvPool installed and not the ``mujoco`` extra) EnvPool's spec answers: the
    run trains on EnvPool, and its defaults must not depend on which extra is installed."""
    threshold, max_steps = _registry_entry(env_id)
    kwargs = dict(env_kwargs or {})
    if level == "compiled":
        from policyopt.envs import make_jax_env

        jenv = make_jax_env(env_id, **kwargs)
        steps = getattr(jenv.params, "max_steps_in_episode", None) or max_steps
        space = jenv.env.observation_space(jenv.params)
        return EnvTraits(
            continuous=not jenv.action_spec.discrete,
            obs_dim=math.prod(jenv.obs_shape),
            max_episode_steps=None if steps is None else int(steps),
            reward_threshold=threshold,
            smallest_obs_bound=_smallest_bound(space),
        )
    try:
        import gymnasium as gym

        env = gym.make(env_id, **kwargs)
    except Exception:  # an id gymnasium lacks, or a missing extra: EnvPool's spec, if any
        return _envpool_traits(env_id, kwargs, threshold, max_steps)
    try:
        return EnvTraits(
            continuous=isinstance(env.action_space, gym.spaces.Box),
            obs_dim=math.prod(env.observation_space.shape or (1,)),
            max_episode_steps=max_steps,
            reward_threshold=threshold,
            smallest_obs_bound=_smallest_bound(env.observation_space),
        )
    finally:
        env.close()


def _envpool_traits(
    env_id: str, kwargs: dict[str, Any], threshold: float | None, max_steps: int | None
) -> EnvTraits | None:
    """Traits from EnvPool's spec of ``env_id`` (None: EnvPool lacks it or its kwargs)."""
    import gymnasium as gym

    from policyopt.envs.host_env import envpool_spec

    spec = envpool_spec(env_id, kwargs)
    if spec is None:
        return None
    action, obs = spec.gymnasium_action_space, spec.gymnasium_observation_space
    config = spec.config  # a namedtuple of the env's options: not every env has both
    steps = max_steps if max_steps is not None else getattr(config, "max_episode_steps", None)
    return EnvTraits(
        continuous=isinstance(action, gym.spaces.Box),  # as for Gymnasium's env above
        obs_dim=math.prod(obs.shape or (1,)),
        max_episode_steps=None if steps is None else int(steps),
        reward_threshold=threshold
        if threshold is not None
        else getattr(config, "reward_threshold", None),
        smallest_obs_bound=_smallest_bound(obs),
    )


def _smallest_bound(space: Any) -> float | None:
    """The smallest finite per-dimension bound magnitude of a Box-like space (None if none)."""
    low, high = getattr(space, "low", None), getattr(space, "high", None)
    if low is None or high is None:
        return None
    import numpy as np

    scale = np.maximum(np.abs(np.asarray(low, float)), np.abs(np.asarray(high, float)))
    scale = np.broadcast_to(scale, np.shape(np.asarray(high)) or (1,))
    finite = scale[np.isfinite(scale)]
    return float(finite.min()) if finite.size else None


def _registry_entry(env_id: str) -> tuple[float | None, int | None]:
    from gymnasium.envs.registration import registry

    spec = registry.get(env_id)
    if spec is None:
        return None, None
    return spec.reward_threshold, spec.max_episode_steps


def env_defaults(config_cls: type, traits: EnvTraits | None, level: str) -> EnvDefaults | None:
    """The defaults for a recipe (its config class) on an env with ``traits``, or None when
    the config defaults are already the right ones (short discrete tasks)."""
    if traits is None:
        return None
    fields = {f.name for f in dataclasses.fields(config_cls)}
    name = getattr(config_cls, "name", "")
    run: dict[str, bool] = {}
    if traits.continuous:
        kind = "continuous control"
        chosen: dict[str, Any] = dict(_CONTINUOUS)
        # No wider networks for wide observations: at Adam 3e-4, (256, 256) doubled PPO's
        # per-update KL on Ant-v5 (105 dims) and it never learned (-29 over 3 seeds); the
        # zoo's 1327 on Ant is SB3's (64, 64) defaults, and its (256, 256) entries pair the
        # width with learning rates 3-15x lower, which is a preset's business, not a default's.
        run = {"normalize_obs": True, "normalize_reward": True}
    elif traits.max_episode_steps is not None and traits.max_episode_steps >= 1000:
        kind = "long-horizon discrete control"
        chosen = dict(_LONG_DISCRETE)
    else:
        kind, chosen = "small-scale observations", {}  # only the normalisation below
    small = traits.smallest_obs_bound
    if small is not None and small < _SMALL_SCALE:
        run["normalize_obs"] = True
    threshold = traits.reward_threshold
    if threshold is not None and abs(threshold) >= 1000:
        kind = kind if run or chosen else "large-return control"
        run["normalize_reward"] = True
    if name in _KEEP_ROLLOUT:
        chosen = {k: v for k, v in chosen.items() if k not in ("num_envs", "num_steps")}
    config = {k: v for k, v in chosen.items() if k in fields}
    return EnvDefaults(kind, config, run) if config or run else None
