"""Environment adapters: JAX-native (gymnax) for compiled training, host vector envs
(Gymnasium sync/async, EnvPool, gymnax) for :class:`policyopt.Agent`."""

from policyopt.envs.host_env import BACKENDS, HostStep, HostVecEnv, make_host_env, resolve_backend
from policyopt.envs.jax_env import JAX_ENVS, JaxEnv, make_jax_env

__all__ = [
    "BACKENDS",
    "JAX_ENVS",
    "HostStep",
    "HostVecEnv",
    "JaxEnv",
    "make_host_env",
    "make_jax_env",
    "resolve_backend",
]
