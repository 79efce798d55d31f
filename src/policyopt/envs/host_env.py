"""Host vector environments behind one interface: Gymnasium (sync/async), EnvPool, gymnax.

The host loop needs, from every backend, the same three things per step: the next observation
(already reset where an episode ended), ``terminated`` and ``truncated`` kept apart, and the
observation that *ended* an episode (``final_obs``), because a truncated episode bootstraps
from its value. Backends differ in how they reset:

* Gymnasium vector envs run with ``AutoresetMode.SAME_STEP``: the step that ends an episode
  resets it and reports the final observation in ``info["final_obs"]``.
* EnvPool (C++ threads; much faster for Box2D, classic control and MuJoCo) resets on the *next*
  step (``NEXT_STEP``), which would put a fake transition into every rollout. We reset the
  finished environments at once with ``reset(options={"reset_mask": ...})`` instead, which
  gives the same-step semantics. EnvPool fixes seeds at creation, so ``reset(seed)``
  recreates the pool: that keeps every segment of a run reproducible (exact resume).
* gymnax ids that Gymnasium does not register run as jitted, vmapped JAX functions.

``backend="auto"`` picks EnvPool when it is installed, has the id and ``num_envs >= 8``, else
Gymnasium's synchronous vector env, else gymnax; with a ``step_timeout`` it picks Gymnasium's
asynchronous vector env for Gymnasium ids, the only backend that can honour one.

Faults: a hung environment is only recoverable where it runs in another process. The async
backend waits at most ``step_timeout`` seconds for ``step``/``reset``, then terminates its
workers and raises :class:`~policyopt.faults.EnvTimeoutError`. A sync env runs in this
process and cannot be interrupted safely (a hang hangs; Ctrl-C still works); EnvPool's C++
threads and gymnax's compiled functions run only their own built-in environments and have
no timeout. The threshold is measured: one EnvPool call
costs ~100 µs of thread hand-off on this 2-core machine, so per environment-step (µs, random
actions) EnvPool / Gymnasium sync were LunarLander-v3 66/30 at 2 envs, 18/26 at 8, 13/26 at
16; CartPole-v1 50/12 at 2, 18/9 at 8, 11/8 at 16.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol, cast

import gymnasium as gym
import numpy as np

from policyopt.env_kwargs import NOT_SHARED, envpool_kwargs
from policyopt.errors import ConfigError, check_range, suggest
from policyopt.faults import EnvTimeoutError
from policyopt.nn import ActionSpec

__all__ = [
    "BACKENDS",
    "HostStep",
    "HostVecEnv",
    "action_spec_of",
    "envpool_ids",
    "make_host_env",
    "resolve_backend",
]

BACKENDS = ("auto", "envpool", "sync", "async", "gymnax")


class HostStep(NamedTuple):
    """One vectorised transition on the host (leading axis: environments)."""

    obs: np.ndarray  # next observation, already reset where the episode ended
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: np.ndarray  # the observation the step produced, before any reset


class HostVecEnv(Protocol):
    """What the host loop and :class:`policyopt.Agent` need from a vector environment."""

    backend: str
    num_envs: int
    obs_shape: tuple[int, ...]
    action_spec: ActionSpec

    def reset(self, seed: int) -> np.ndarray: ...

    def step(self, action: np.ndarray) -> HostStep: ...

    def close(self) -> None: ...


def action_spec_of(space: Any, where: str = "env") -> ActionSpec:
    """The policy head for an action space; unsupported spaces are named in the error."""
    kind = type(space).__name__
    shape = tuple(getattr(space, "shape", ()) or ())
    if kind == "Discrete":
        return ActionSpec("discrete", int(space.n))
    if kind == "Box" and len(shape) == 1:
        low = np.broadcast_to(np.asarray(space.low, np.float64), shape)
        high = np.broadcast_to(np.asarray(space.high, np.float64), shape)
        return ActionSpec(
            "continuous", int(shape[0]), tuple(map(float, low)), tuple(map(float, high))
        )
    raise ConfigError(
        where,
        "action_space",
        f"{kind}{shape} is not supported: every recipe's policy is a Categorical (Discrete) "
        "or a diagonal Gaussian (1-D Box)",
    )


def _check_obs_space(space: Any, where: str = "env") -> tuple[int, ...]:
    kind = type(space).__name__
    shape = tuple(getattr(space, "shape", None) or ())
    if kind != "Box" or len(shape) != 1:
        raise ConfigError(
            where,
            "observation_space",
            f"{kind}{shape if shape else ''} is not supported yet "
            "(1-D Box only; no Dict, Tuple, Discrete or images)",
        )
    return shape


@functools.cache
def envpool_ids() -> frozenset[str]:
    """Ids EnvPool provides (empty when EnvPool is not installed)."""
    try:
        import envpool
    except ImportError:
        return frozenset()
    return frozenset(envpool.list_all_envs())


def _gymnax_ids() -> frozenset[str]:
    from policyopt.env_ids import gymnax_ids

    return gymnax_ids()


ENVPOOL_MIN_ENVS = 8


@functools.cache
def _envpool_config_keys(env_id: str) -> frozenset[str]:
    import envpool

    return frozenset(envpool.make_spec(env_id).config._fields)  # a namedtuple of its options


def _envpool_make_kwargs(env_id: str, env_kwargs: Mapping[str, Any]) -> dict[str, Any] | None:
    """``env_kwargs`` in EnvPool's spelling for its ``env_id``, or None where it has none."""
    if not env_kwargs:
        return {}
    return envpool_kwargs(env_kwargs, _envpool_config_keys(env_id))


def envpool_spec(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> Any | None:
    """EnvPool's spec of ``env_id`` made with ``env_kwargs`` (Gymnasium's spelling): its
    spaces and registry values without making an env; None where EnvPool is not installed,
    lacks the id, or takes not every kwarg."""
    if env_id not in envpool_ids():
        return None
    translated = _envpool_make_kwargs(env_id, env_kwargs or {})
    if translated is None:
        return None
    import envpool

    with warnings.catch_warnings():  # EnvPool builds float64 Box bounds: harmless, noisy
        warnings.simplefilter("ignore", UserWarning)
        return envpool.make_spec(env_id, **translated)


#: Gymnasium env modules whose optional dependencies a policyopt extra installs.
_EXTRAS = {"gymnasium.envs.box2d": "box2d", "gymnasium.envs.mujoco": "mujoco"}


def check_env_dependencies(env_id: str) -> None:
    """Import ``env_id``'s Gymnasium module now, so a missing optional dependency (Box2D,
    MuJoCo) fails before anything trains, naming the policyopt extra that installs it."""
    import importlib

    entry = gym.spec(env_id).entry_point
    if not isinstance(entry, str) or ":" not in entry:
        return
    module = entry.split(":")[0]
    try:
        importlib.import_module(module)
    except (gym.error.DependencyNotInstalled, ImportError) as err:
        extra = next((x for m, x in _EXTRAS.items() if module.startswith(m)), None)
        fix = f"pip install 'policyopt[{extra}]'" if extra else "install its dependencies"
        raise ConfigError(
            "env", "env_id", f"{env_id!r} needs packages that are not installed: {fix} ({err})"
        ) from err


@functools.cache
def _gym_can_make(env_id: str) -> bool:
    """Whether Gymnasium's env module for ``env_id`` imports (its extra is installed): "auto"
    then keeps EnvPool for an id both have, e.g. a MuJoCo preset with 1 env where only EnvPool's
    MuJoCo is installed, instead of picking a Gymnasium env that cannot be made."""
    try:
        check_env_dependencies(env_id)
    except ConfigError:
        return False
    return True


def resolve_backend(
    env_id: str,
    backend: str = "auto",
    num_envs: int = ENVPOOL_MIN_ENVS,
    step_timeout: float | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> str:
    """The concrete backend for ``env_id``; unknown ids and backends fail with suggestions,
    and a Gymnasium backend whose env needs a missing extra names the extra.

    With ``env_kwargs`` (Gymnasium's spelling), "auto" keeps EnvPool only when its env takes
    every one of them (:func:`policyopt.env_kwargs.envpool_kwargs`); "envpool" fails otherwise.
    """
    resolved = _resolve_backend(env_id, backend, num_envs, step_timeout, env_kwargs or {})
    if resolved in ("sync", "async"):
        check_env_dependencies(env_id)
    return resolved


def _resolve_backend(
    env_id: str,
    backend: str,
    num_envs: int,
    step_timeout: float | None,
    env_kwargs: Mapping[str, Any],
) -> str:
    """The concrete backend for ``env_id`` (see :func:`resolve_backend`).

    A ``step_timeout`` needs the async backend ("auto" then picks it for Gymnasium ids).
    """
    if backend not in BACKENDS:
        raise ConfigError(
            "env", "vectorization", f"got {backend!r}; allowed: {', '.join(BACKENDS)}"
        )
    if step_timeout is not None:
        check_range("env", "step_timeout", step_timeout, 0.0)
        if backend == "auto" and env_id in gym.registry:
            backend = "async"
        elif backend != "async":
            raise ConfigError(
                "env",
                "step_timeout",
                f"needs vectorization 'async' (got {backend!r} for {env_id!r}): a sync env "
                "steps in this process and cannot be interrupted safely, and EnvPool and "
                "gymnax have no per-step timeout",
            )
    # EnvPool's registry costs an import of EnvPool (0.5 s, SciPy included): asked only when
    # the answer matters, never for a Gymnasium id on a Gymnasium backend.
    in_gym = env_id in gym.registry
    if not in_gym and env_id not in envpool_ids() and env_id not in _gymnax_ids():
        known = set(gym.registry) | envpool_ids() | _gymnax_ids()
        raise ConfigError(
            "env",
            "env_id",
            f"unknown environment id {env_id!r} (not a Gymnasium, EnvPool or gymnax id)"
            f"{suggest(env_id, sorted(known))}",
        )
    if backend == "auto":
        if in_gym and num_envs < ENVPOOL_MIN_ENVS and _gym_can_make(env_id):
            return "sync"  # few envs: Gymnasium's in-process loop beats EnvPool's threads
        if env_id in envpool_ids() and (
            not env_kwargs or _envpool_make_kwargs(env_id, env_kwargs) is not None
        ):
            return "envpool"
        return "sync" if in_gym else "gymnax"
    if backend == "envpool" and env_id not in envpool_ids():
        why = "EnvPool is not installed (pip install 'policyopt[envpool]')"
        if envpool_ids():
            why = f"EnvPool has no {env_id!r}{suggest(env_id, sorted(envpool_ids()))}"
        raise ConfigError("env", "vectorization", f"'envpool' unavailable: {why}")
    if backend == "envpool" and env_kwargs and _envpool_make_kwargs(env_id, env_kwargs) is None:
        raise ConfigError(
            "env",
            "env_kwargs",
            f"EnvPool's {env_id!r} cannot take {dict(env_kwargs)!r}; it takes "
            f"{', '.join(sorted(_envpool_config_keys(env_id) - NOT_SHARED))} (or use "
            "vectorization 'sync' or 'async' for Gymnasium's env)",
        )
    if backend in ("sync", "async") and not in_gym:
        raise ConfigError(
            "env", "vectorization", f"{env_id!r} is not a Gymnasium id; use 'gymnax' or 'auto'"
        )
    if backend == "gymnax" and env_id not in _gymnax_ids():
        raise ConfigError("env", "vectorization", f"{env_id!r} is not a gymnax id")
    return backend


# --------------------------------------------------------------------------- Gymnasium


class GymnasiumVecEnv:
    """``gym.make_vec`` (sync or async) with same-step autoreset.

    ``step_timeout`` (async only): seconds to wait for every worker's ``step``/``reset``
    before terminating them and raising :class:`~policyopt.faults.EnvTimeoutError`.
    ``env_kwargs``: ``gym.make``'s keyword arguments.
    """

    def __init__(
        self,
        env_id: str,
        num_envs: int,
        mode: str,
        step_timeout: float | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.backend, self.env_id, self.num_envs = mode, env_id, num_envs
        self.step_timeout = step_timeout if mode == "async" else None
        kwargs: dict[str, Any] = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
        if mode == "async":
            kwargs["context"] = "spawn"  # never fork a process that has JAX's threads running
        try:
            self.envs = gym.make_vec(
                env_id,
                num_envs=num_envs,
                vectorization_mode=mode,
                vector_kwargs=kwargs,
                **dict(env_kwargs or {}),
            )
        except TypeError as err:
            if not env_kwargs:
                raise
            raise ConfigError(
                "env", "env_kwargs", f"{env_id!r} does not take {dict(env_kwargs)!r}: {err}"
            ) from None
        self.obs_shape = _check_obs_space(self.envs.single_observation_space)
        self.action_spec = action_spec_of(self.envs.single_action_space)

    def _wait(self, call: str, start: Any, wait: Any) -> Any:
        if self.step_timeout is None:
            start()
            return wait()
        import multiprocessing

        start()
        try:
            return wait(timeout=self.step_timeout)
        except multiprocessing.TimeoutError:
            self.envs.close(terminate=True)
            raise EnvTimeoutError(self.env_id, self.backend, self.step_timeout, call) from None

    def reset(self, seed: int) -> np.ndarray:
        seeds = [seed + i for i in range(self.num_envs)]
        if self.step_timeout is None:
            obs, _ = self.envs.reset(seed=seeds)  # type: ignore[arg-type]
        else:
            obs, _ = self._wait(
                "reset",
                lambda: self.envs.reset_async(seed=seeds),  # type: ignore[attr-defined]
                self.envs.reset_wait,  # type: ignore[attr-defined]
            )
        return np.asarray(obs)

    def step(self, action: np.ndarray) -> HostStep:
        if self.step_timeout is None:
            obs, reward, term, trunc, info = self.envs.step(action)
        else:
            obs, reward, term, trunc, info = self._wait(
                "step",
                lambda: self.envs.step_async(action),  # type: ignore[attr-defined]
                self.envs.step_wait,  # type: ignore[attr-defined]
            )
        final = obs
        if "_final_obs" in info and np.any(info["_final_obs"]):
            final = np.array(obs)
            idx = np.flatnonzero(info["_final_obs"])
            final[idx] = np.stack([info["final_obs"][i] for i in idx])
        return HostStep(obs, np.asarray(reward, np.float64), term, trunc, final)

    def close(self) -> None:
        self.envs.close()


# --------------------------------------------------------------------------- EnvPool


class EnvPoolVecEnv:
    """EnvPool in synchronous mode, finished environments reset in the same step."""

    def __init__(
        self, env_id: str, num_envs: int, env_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        self.backend, self.env_id, self.num_envs = "envpool", env_id, num_envs
        translated = _envpool_make_kwargs(env_id, env_kwargs or {})
        if translated is None:
            raise ConfigError("env", "env_kwargs", f"EnvPool's {env_id!r} cannot take {env_kwargs}")
        self._kwargs = translated
        self.pool: Any = None
        self._make(0)
        with warnings.catch_warnings():  # EnvPool builds float64 Box bounds: harmless, noisy
            warnings.simplefilter("ignore", UserWarning)
            self.obs_shape = _check_obs_space(cast(Any, self.pool).observation_space)
            self.action_spec = action_spec_of(cast(Any, self.pool).action_space)
        self._action_dtype = np.int32 if self.action_spec.discrete else np.float32

    def _make(self, seed: int) -> None:
        import envpool

        if self.pool is not None:
            self.pool.close()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self.pool = envpool.make(
                self.env_id,
                env_type="gymnasium",
                num_envs=self.num_envs,
                seed=int(seed),
                **self._kwargs,
            )

    def reset(self, seed: int) -> np.ndarray:
        self._make(seed % (2**31 - 1))
        with warnings.catch_warnings():  # the first recv builds the (float64-bounded) spaces
            warnings.simplefilter("ignore", UserWarning)
            obs, _ = self.pool.reset()
        return np.asarray(obs)

    def step(self, action: np.ndarray) -> HostStep:
        obs, reward, term, trunc, _ = self.pool.step(np.asarray(action, self._action_dtype))
        done = term | trunc
        final = obs
        if done.any():
            final = np.array(obs)
            obs = np.array(obs)
            fresh, info = self.pool.reset(options={"reset_mask": done})
            obs[np.asarray(info["env_id"])] = fresh
        return HostStep(obs, np.asarray(reward, np.float64), term, trunc, final)

    def close(self) -> None:
        self.pool.close()


# --------------------------------------------------------------------------- gymnax


class GymnaxVecEnv:
    """A gymnax environment stepped on the host through jitted, vmapped functions."""

    def __init__(
        self, env_id: str, num_envs: int, env_kwargs: Mapping[str, Any] | None = None
    ) -> None:
        import jax

        from policyopt.envs.jax_env import make_jax_env

        self.backend, self.num_envs = "gymnax", num_envs
        self.env = make_jax_env(env_id, **dict(env_kwargs or {}))
        if len(self.env.obs_shape) != 1:
            raise ConfigError(
                "env",
                "observation_space",
                f"Box{self.env.obs_shape} is not supported yet (1-D Box only; no images)",
            )
        self.obs_shape: tuple[int, ...] = self.env.obs_shape
        self.action_spec = self.env.action_spec
        self._reset = jax.jit(lambda key: self.env.reset(key, num_envs))
        self._step = jax.jit(self.env.step)
        self._key: Any = None
        self._state: Any = None

    def reset(self, seed: int) -> np.ndarray:
        import jax

        self._key, k = jax.random.split(jax.random.PRNGKey(seed))
        obs, self._state = self._reset(k)
        return np.asarray(obs, np.float32)

    def step(self, action: np.ndarray) -> HostStep:
        import jax

        self._key, k = jax.random.split(self._key)
        out = self._step(k, self._state, action)
        self._state = out.state
        obs, reward, term, trunc, final = jax.device_get(
            (out.obs, out.reward, out.terminated, out.truncated, out.final_obs)
        )
        return HostStep(obs, np.asarray(reward, np.float64), term, trunc, final)

    def close(self) -> None:
        self._state = None


def make_host_env(
    env_id: str,
    num_envs: int,
    backend: str = "auto",
    step_timeout: float | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> HostVecEnv:
    """A vector env of ``num_envs`` copies of ``env_id`` (with ``env_kwargs``, Gymnasium's
    spelling) on the resolved backend."""
    resolved = resolve_backend(env_id, backend, num_envs, step_timeout, env_kwargs)
    if resolved == "envpool":
        return EnvPoolVecEnv(env_id, num_envs, env_kwargs)
    if resolved == "gymnax":
        return GymnaxVecEnv(env_id, num_envs, env_kwargs)
    return GymnasiumVecEnv(env_id, num_envs, resolved, step_timeout, env_kwargs)
