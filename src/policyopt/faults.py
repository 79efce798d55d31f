"""Run-time failures of a training run, and the cheap host-side checks that name them.

Bad *arguments* are :class:`~policyopt.errors.ConfigError` (raised before anything trains,
CLI exit code 2). These are the other kind: a run that was going and had to stop
(:class:`TrainingError`, CLI exit code 3), always with its last good checkpoint kept:

* :class:`NonFiniteError`: a NaN or inf, naming the quantity (:data:`QUANTITIES`), the
  update, the env id and the seed (:mod:`policyopt.guard` detects them inside updates).
* :class:`EnvError`: an environment raised; :class:`EnvTimeoutError`: an asynchronous one
  did not answer within ``step_timeout``.

Light on purpose (the standard library at import, NumPy inside the functions that use it), so
the CLI (its --help too) and the environment adapters can import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from policyopt.errors import check_choice

if TYPE_CHECKING:  # NumPy is imported where used: the CLI imports this module for --help
    import numpy as np

__all__ = [
    "ENV_QUANTITIES",
    "NONFINITE",
    "ON_NAN",
    "QUANTITIES",
    "REJECTED",
    "EnvError",
    "EnvTimeoutError",
    "NonFiniteError",
    "TrainingError",
    "check_env_output",
    "check_on_nan",
    "good_updates",
    "is_fatal",
    "raise_if_nonfinite",
]

ON_NAN = ("raise", "skip")

#: What the guard checks, in causal order; ``train/nonfinite`` = 1 + index of the first bad one.
QUANTITIES = (
    "observation",
    "reward",
    "advantage",
    "loss",
    "gradient",
    "actor parameters",
    "critic parameters",
    "optimiser state",  # optax states and the recipe's adaptive coefficients (PPO-KL's β)
)
#: Quantities that come from the environment: never skipped, they stop the run.
ENV_QUANTITIES = QUANTITIES[:2]

NONFINITE = "train/nonfinite"
REJECTED = "train/rejected_nonfinite"


# --------------------------------------------------------------------------- errors


class TrainingError(RuntimeError):
    """A run stopped at run time (not a bad argument); its last good checkpoint is kept."""


class NonFiniteError(TrainingError):
    """A NaN or infinity appeared in a run: which quantity, at which update, on which env/seed.

    Attributes:
        quantity: one of :data:`QUANTITIES` (or ``"evaluation return"``).
        update: 0-based index of the update that produced it (None if not in an update).
        env_id: the environment id.
        seed: the seed of the run that failed (for vmapped seeds, the first that failed).
        env_index: host loop only: which environment of the vector env returned it.
        step: host loop only: the step of the rollout (0-based) at which it was returned.
        seeds_failed: compiled loop: how many of the vmapped seeds failed.
    """

    def __init__(
        self,
        quantity: str,
        update: int | None = None,
        env_id: str | None = None,
        seed: int | None = None,
        *,
        env_index: int | None = None,
        step: int | None = None,
        seeds_failed: int = 1,
    ) -> None:
        self.quantity, self.update, self.env_id, self.seed = quantity, update, env_id, seed
        self.env_index, self.step, self.seeds_failed = env_index, step, seeds_failed
        if quantity in ENV_QUANTITIES:
            where = f"from environment {env_id!r}"
            if env_index is not None:
                where += f" (env index {env_index})"
        else:
            where = f"on {env_id!r}" if env_id is not None else ""
        at = [] if step is None else [f"step {step}"]
        at += [] if update is None else [f"update {update}"]
        at += [] if seed is None else [f"seed {seed}"]
        msg = f"non-finite {quantity} {where}".rstrip()
        if at:
            msg += f" at {', '.join(at)}"
        if seeds_failed > 1:
            msg += f" ({seeds_failed} seeds failed)"
        if quantity in ENV_QUANTITIES:
            msg += "; the environment returned NaN or inf, so the run stopped"
        elif update is not None:
            msg += (
                "; the step was rejected and the run stopped with the last good parameters "
                "(lower the learning rate, or use on_nan='skip', CLI --on-nan skip, to reject "
                "such steps and go on)"
            )
        super().__init__(msg)


class EnvError(TrainingError):
    """An environment raised (or timed out) during a run; the message names it.

    Attributes:
        env_id: the environment id.
        backend: the host backend it ran on ("sync", "async", "envpool", "gymnax").
        where: where in the run it happened ("step 17 of update 3"), filled in by the loop.
    """

    def __init__(self, env_id: str, backend: str, what: str, where: str = "") -> None:
        super().__init__(what)
        self.env_id, self.backend, self.what, self.where = env_id, backend, what, where

    def __str__(self) -> str:
        at = f" at {self.where}" if self.where else ""
        return f"environment {self.env_id!r} ({self.backend} backend){at}: {self.what}"


class EnvTimeoutError(EnvError):
    """An asynchronous environment did not return from ``step``/``reset`` within the timeout.

    Its worker processes are terminated (a hung process cannot be reused) before this is
    raised; the next ``learn`` creates fresh ones.
    """

    def __init__(self, env_id: str, backend: str, timeout: float, call: str = "step") -> None:
        super().__init__(
            env_id,
            backend,
            f"no answer from {call}() within step_timeout={timeout:g} s; "
            "its worker processes were terminated",
        )
        self.timeout = timeout


def check_on_nan(owner: str, value: str) -> str:
    """Validate an ``on_nan`` choice (``ConfigError`` names the allowed values)."""
    check_choice(owner, "on_nan", value, ON_NAN)
    return value


def is_fatal(code: Any, on_nan: str) -> Any:
    """Whether ``train/nonfinite`` codes stop the run (NumPy or JAX arrays alike)."""
    if on_nan == "raise":
        return code > 0
    return (code > 0) & (code <= len(ENV_QUANTITIES))


# --------------------------------------------------------------------------- host side


def check_env_output(
    obs: np.ndarray,
    reward: np.ndarray,
    env_id: str,
    update: int,
    step: int | None,
    seed: int | None = None,
) -> None:
    """Raise :class:`NonFiniteError` naming the env if ``obs`` or ``reward`` is not finite.

    ``step`` is the rollout step (None for the observation of a reset).

    NumPy on a ``[num_envs, ...]`` batch: a couple of microseconds per step.
    """
    import numpy as np

    for quantity, x in (("observation", obs), ("reward", reward)):
        x = np.asarray(x)
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            bad = ~np.isfinite(x.reshape(x.shape[0], -1)).all(axis=1) if x.ndim else [True]
            index = int(np.flatnonzero(bad)[0]) if x.ndim else None
            raise NonFiniteError(quantity, update, env_id, seed, env_index=index, step=step)


def _codes(metrics: Mapping[str, Any]) -> np.ndarray:
    import numpy as np

    if NONFINITE not in metrics:  # metrics of a loop without the guard: nothing was flagged
        return np.zeros((1, 1), np.int64)
    codes = np.asarray(metrics[NONFINITE])
    return codes.reshape(-1, codes.shape[-1]).astype(np.int64)


def good_updates(metrics: Mapping[str, Any], on_nan: str) -> np.ndarray:
    """Per seed of a compiled run, the updates before its first fatal non-finite one (all of
    them if none): the returned learner is the one after exactly that many updates."""
    import numpy as np

    fatal = np.asarray(is_fatal(_codes(metrics), on_nan))
    return np.where(fatal.any(axis=1), np.argmax(fatal, axis=1), fatal.shape[1])


def raise_if_nonfinite(
    metrics: Mapping[str, Any], on_nan: str, env_id: str | None = None, seed: int = 0
) -> None:
    """After a compiled run: raise :class:`NonFiniteError` if a seed hit a fatal non-finite.

    ``metrics`` are the compiled loop's (``[updates]`` or ``[seeds, updates]``); seed ``i`` of
    a vmapped run is reported as ``seed + i``.
    """
    import numpy as np

    codes = _codes(metrics)
    good = good_updates(metrics, on_nan)
    failed = np.flatnonzero(good < codes.shape[1])
    if failed.size == 0:
        return
    s = int(failed[np.argmin(good[failed])])  # the seed that failed earliest
    u = int(good[s])
    raise NonFiniteError(
        QUANTITIES[int(codes[s, u]) - 1], u, env_id, seed + s, seeds_failed=int(failed.size)
    )
