"""Backtracking line search on the KL trust region (Schulman et al. 2015, App. C; seed §5.3).

The natural step ``s·F⁻¹g`` is only optimal for the *models* of the surrogate (linear) and of
the KL (quadratic). TRPO therefore checks the real thing: it shrinks the step geometrically,
``θ_k + α^i · full_step`` for i = 0, 1, …, and accepts the first trial whose sample KL
``KL(π_k ‖ π_θ)`` is within δ *and* whose surrogate loss actually decreased. If no trial passes,
it keeps θ_k: that is what makes TRPO's monotonic-improvement argument (Schulman et al. 2015,
Thm. 1) hold in practice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["LineSearchInfo", "backtracking_line_search"]

_tu = optax.tree_utils


class LineSearchInfo(NamedTuple):
    """What the line search did (logged as ``train/backtracks`` etc., DESIGN §4).

    Attributes:
        backtracks: the index i of the accepted trial (0 = the full step), or
            ``max_backtracks`` if none was accepted (int32).
        accepted: whether a trial was accepted (bool).
        step_fraction: ``α^i`` of the accepted trial, 0 if none was accepted.
        expected_improve: the caller's predicted improvement of the full step, as passed in
            (e.g. ``−gᵀ full_step``); the linear model predicts ``step_fraction ·
            expected_improve`` for the accepted trial.
        actual_improve: ``loss(θ_k) − loss(θ_returned)`` (> 0 if accepted, 0 if not).
        kl: ``kl_fn`` at the returned parameters.
    """

    backtracks: jax.Array
    accepted: jax.Array
    step_fraction: jax.Array
    expected_improve: jax.Array
    actual_improve: jax.Array
    kl: jax.Array


class _SearchState(NamedTuple):
    i: jax.Array
    accepted: jax.Array
    params: Any
    loss: jax.Array
    kl: jax.Array


def backtracking_line_search(
    loss_fn: Callable[[Any], jax.Array],
    kl_fn: Callable[[Any], jax.Array],
    params_k: Any,
    full_step: Any,
    delta: float | jax.Array,
    expected_improve: float | jax.Array,
    backtrack_coef: float | jax.Array = 0.8,
    max_backtracks: int = 10,
) -> tuple[Any, LineSearchInfo]:
    """Try ``θ = θ_k + α^i · full_step`` for i = 0 … max_backtracks−1; keep the first good one.

    A trial is accepted iff ``kl_fn(θ) ≤ δ`` and ``loss_fn(θ) < loss_fn(θ_k)`` (both finite).
    If none is, ``params_k`` is returned unchanged (bit for bit). ``full_step`` is the step to
    *add*, already pointing downhill for the loss (for TRPO, ``−s·F⁻¹g`` with s from
    :func:`policyopt.solvers.natural.step_size_trust_region`).

    A ``lax.while_loop`` that stops at the first accepted trial, so it compiles once and runs
    under ``jit`` and ``vmap``; the loss and KL are evaluated once per trial (plus once at θ_k).
    Defaults follow stable-baselines3-contrib's TRPO (``line_search_shrinking_factor=0.8``,
    ``line_search_max_iter=10``).

    Args:
        loss_fn: ``θ -> surrogate loss`` (to minimise; e.g. the ratio surrogate).
        kl_fn: ``θ -> mean KL(π_k ‖ π_θ)``.
        params_k: θ_k, a pytree.
        full_step: the full step to add, a pytree shaped like ``params_k``.
        delta: the trust-region radius δ; may be traced.
        expected_improve: the predicted improvement of the full step, only reported.
        backtrack_coef: the shrink factor α ∈ (0, 1); may be traced.
        max_backtracks: the number of trials; a static Python int.

    Returns:
        ``(params, info)``: the accepted parameters (or ``params_k``) and a
        :class:`LineSearchInfo`.
    """
    loss_k = jnp.asarray(loss_fn(params_k))
    dtype = loss_k.dtype
    coef = jnp.asarray(backtrack_coef, dtype)
    init = _SearchState(
        i=jnp.int32(0),
        accepted=jnp.bool_(False),
        params=params_k,
        loss=loss_k,
        kl=jnp.asarray(kl_fn(params_k), dtype),
    )

    def cond(s: _SearchState) -> jax.Array:
        return (s.i < max_backtracks) & ~s.accepted

    def body(s: _SearchState) -> _SearchState:
        candidate = _tu.tree_add_scale(params_k, coef ** s.i.astype(dtype), full_step)
        loss = jnp.asarray(loss_fn(candidate), dtype)
        kl = jnp.asarray(kl_fn(candidate), dtype)
        ok = (kl <= delta) & (loss < loss_k) & jnp.isfinite(loss) & jnp.isfinite(kl)
        return _SearchState(
            i=jnp.where(ok, s.i, s.i + 1),
            accepted=ok,
            params=_tu.tree_where(ok, candidate, s.params),
            loss=jnp.where(ok, loss, s.loss),
            kl=jnp.where(ok, kl, s.kl),
        )

    out = jax.lax.while_loop(cond, body, init)
    info = LineSearchInfo(
        backtracks=out.i,
        accepted=out.accepted,
        step_fraction=jnp.where(out.accepted, coef ** out.i.astype(dtype), 0.0),
        expected_improve=jnp.asarray(expected_improve, dtype),
        actual_improve=loss_k - out.loss,
        kl=out.kl,
    )
    return out.params, info
