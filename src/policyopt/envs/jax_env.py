"""JAX-native environments (gymnax) behind one small interface for the compiled loop.

gymnax auto-resets inside ``step`` and reports ``terminated``, ``truncated`` and the
``final_observation`` before the reset, which is what correct truncation bootstrapping needs
(the value of the final observation, not of the reset one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from policyopt.envs.host_env import action_spec_of
from policyopt.errors import ConfigError, suggest
from policyopt.nn import ActionSpec

__all__ = ["JAX_ENVS", "EnvStep", "JaxEnv", "make_jax_env"]

# Ids we train and test on; any other gymnax id with a Discrete or Box action space also works.
JAX_ENVS = (
    "CartPole-v1",
    "Acrobot-v1",
    "Pendulum-v1",
    "MountainCarContinuous-v0",
    "MountainCar-v0",
)


class EnvStep(NamedTuple):
    """One vectorised transition (leading axis: environments)."""

    obs: jax.Array  # next observation, already reset where the episode ended
    state: Any
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: jax.Array  # the observation the step produced, before any reset


@dataclass(frozen=True)
class JaxEnv:
    """A gymnax environment with its parameters, vectorised over ``num_envs`` by ``vmap``."""

    env_id: str
    env: Any
    params: Any
    action_spec: ActionSpec
    obs_shape: tuple[int, ...]

    def reset(self, key: jax.Array, num_envs: int) -> tuple[jax.Array, Any]:
        keys = jax.random.split(key, num_envs)
        return jax.vmap(self.env.reset, in_axes=(0, None))(keys, self.params)

    def step(self, key: jax.Array, state: Any, action: jax.Array) -> EnvStep:
        keys = jax.random.split(key, action.shape[0])
        if not self.action_spec.discrete:
            # Sample unclipped (log-probs stay exact), send the clipped action to the env.
            action = jnp.clip(
                action, jnp.asarray(self.action_spec.low), jnp.asarray(self.action_spec.high)
            )
        obs, state, reward, terminated, truncated, info = jax.vmap(
            self.env.step, in_axes=(0, 0, 0, None)
        )(keys, state, action, self.params)
        return EnvStep(
            obs=obs.astype(jnp.float32),
            state=state,
            reward=reward.astype(jnp.float32),
            terminated=terminated.astype(bool),
            truncated=jnp.logical_and(truncated, jnp.logical_not(terminated)),
            final_obs=info["final_observation"].astype(jnp.float32),
        )


def make_jax_env(env_id: str, **env_params: Any) -> JaxEnv:
    """Build a gymnax environment; unknown ids get the closest registered names."""
    from policyopt.imports import import_gymnax

    gymnax = import_gymnax()

    if env_id not in gymnax.registered_envs:
        raise ConfigError(
            "env",
            "env_id",
            f"unknown JAX-native env {env_id!r}{suggest(env_id, gymnax.registered_envs)}",
        )
    env, params = gymnax.make(env_id)
    if env_params:
        fields = sorted(vars(params))
        unknown = sorted(set(env_params) - set(fields))
        if unknown:
            raise ConfigError(
                "env",
                "env_kwargs",
                f"{env_id!r} has no parameter {', '.join(map(repr, unknown))}; its EnvParams: "
                f"{', '.join(fields)}",
            )
        params = params.replace(**env_params)
    spec = action_spec_of(env.action_space(params), where="env")
    obs_shape = tuple(env.observation_space(params).shape)
    return JaxEnv(env_id=env_id, env=env, params=params, action_spec=spec, obs_shape=obs_shape)
