"""Environment adapters: JAX-native (gymnax) for compiled training."""

from policyopt.envs.jax_env import JAX_ENVS, JaxEnv, make_jax_env

__all__ = ["JAX_ENVS", "JaxEnv", "make_jax_env"]
