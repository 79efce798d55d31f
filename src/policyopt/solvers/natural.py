"""Natural-gradient directions: conjugate gradient on pytrees, and the seed's §4 step rules.

NPG and TRPO move along the natural gradient ``d = F⁻¹g`` (Amari 1998; Kakade 2002): the
steepest-descent direction when distance is measured by the KL's second-order model
``½ΔᵀFΔ`` instead of ``½‖Δ‖²``. For a network F is ``P × P`` and never formed: conjugate
gradient (Hestenes & Stiefel 1952) solves ``F d = g`` from Fisher-vector products alone
(:func:`policyopt.divergences.fisher_vector_product`), and about 10 iterations suffice in
practice (Schulman et al. 2015, App. C). stable-baselines3-contrib's TRPO runs 15
(``cg_max_steps``; 10 is only its helper function's default) with a residual tolerance of
1e-10, which our TRPO config copies.

The step length along d is then one of the seed's §4 rules: the trust-region rule
``√(2δ / gᵀF⁻¹g)``, which puts the quadratic model of the KL exactly at δ, or a fixed ``1/λ``.

The pytree arithmetic comes from ``optax.tree_utils`` (``tree_vdot``, ``tree_add_scale``, …).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["CGInfo", "conjugate_gradient", "step_size_fixed", "step_size_trust_region"]

_tu = optax.tree_utils


class CGInfo(NamedTuple):
    """How a conjugate-gradient solve went (logged as ``train/cg_*``, DESIGN §4).

    Attributes:
        iterations: the number of CG iterations performed (int32).
        residual: the final squared residual ``‖b − A x‖²`` (as tracked by the recursion).
    """

    iterations: jax.Array
    residual: jax.Array


class _CGState(NamedTuple):
    x: Any
    r: Any
    p: Any
    rr: jax.Array
    iteration: jax.Array


def _safe_div(num: jax.Array, den: jax.Array) -> jax.Array:
    """``num / den``, or 0 where ``den == 0`` (no NaN, also in the gradient)."""
    ok = den != 0
    return jnp.where(ok, num / jnp.where(ok, den, 1.0), 0.0)


def conjugate_gradient(
    matvec: Callable[[Any], Any],
    b: Any,
    max_iters: int,
    residual_tol: float | jax.Array = 1e-10,
) -> tuple[Any, CGInfo]:
    """Solve ``A x = b`` for a symmetric positive-definite ``A`` given only as ``matvec``.

    The textbook CG recursion (Nocedal & Wright 2006, Alg. 5.2) started from ``x = 0``, as in
    Schulman's TRPO and its descendants: with ``r = p = b``, repeat
    ``α = rᵀr / pᵀAp``, ``x += α p``, ``r −= α A p``, ``p = r + (r'ᵀr' / rᵀr) p``, while
    ``‖r‖² ≥ residual_tol`` and fewer than ``max_iters`` iterations have run. Starting from 0
    makes early stopping a feature: after i iterations x is the minimiser of the quadratic
    over the i-th Krylov space, a smoothly "shrunk" natural gradient.

    Written here rather than with ``jax.scipy.sparse.linalg.cg`` because the recipes report
    the iterations and residual (DESIGN §4). It is a ``lax.while_loop``, so it compiles once
    and runs under ``jit`` and ``vmap`` (a batched loop runs until every member has stopped;
    finished members are frozen). Divisions by zero curvature return 0 rather than NaN.

    Args:
        matvec: ``v -> A v`` on pytrees shaped like ``b`` (e.g. a damped Fisher-vector product).
        b: the right-hand side, a pytree (e.g. the surrogate gradient g).
        max_iters: the iteration cap; a static Python int.
        residual_tol: stop once ``‖r‖² < residual_tol``; may be traced.

    Returns:
        ``(x, info)``: the approximate solution, shaped like ``b``, and a :class:`CGInfo`.
    """
    rr0 = _tu.tree_vdot(b, b)
    init = _CGState(x=_tu.tree_zeros_like(b), r=b, p=b, rr=rr0, iteration=jnp.int32(0))

    def cond(s: _CGState) -> jax.Array:
        return (s.iteration < max_iters) & (s.rr >= residual_tol)

    def body(s: _CGState) -> _CGState:
        ap = matvec(s.p)
        alpha = _safe_div(s.rr, _tu.tree_vdot(s.p, ap))
        x = _tu.tree_add_scale(s.x, alpha, s.p)
        r = _tu.tree_add_scale(s.r, -alpha, ap)
        rr = _tu.tree_vdot(r, r)
        p = _tu.tree_add_scale(r, _safe_div(rr, s.rr), s.p)
        return _CGState(x=x, r=r, p=p, rr=rr, iteration=s.iteration + 1)

    out = jax.lax.while_loop(cond, body, init)
    return out.x, CGInfo(iterations=out.iteration, residual=out.rr)


def step_size_trust_region(g: Any, d: Any, delta: float | jax.Array) -> jax.Array:
    """The seed's §4 trust-region step length ``√(2δ / gᵀF⁻¹g)``, given ``d = F⁻¹g``.

    Maximising the linear model ``gᵀΔ`` subject to the quadratic KL model ``½ΔᵀFΔ ≤ δ`` gives
    ``Δ = s·d`` with ``s = √(2δ / gᵀF⁻¹g)`` (Schulman et al. 2015, App. C): then
    ``½(s d)ᵀF(s d) = ½ s² gᵀF⁻¹g = δ`` exactly. ``gᵀd`` is used for ``gᵀF⁻¹g`` (with CG's
    approximate d it is the curvature CG actually saw); a zero or (from round-off) negative
    value is floored at the dtype's smallest normal number, so the result is finite, never NaN
    (and ``s·d`` is 0 when ``d = 0``).

    Why the deep level needs no extra cap as gᵀd → 0: every CG iterate started at 0 satisfies
    the Galerkin condition ``dᵀ(F + λI)d = gᵀd``, so the damped quadratic model of the step is
    ``½ s² dᵀ(F+λI)d = δ`` exactly, however small g is: CG's damping λ is the guard. (The exact
    level has no damping; there the unbounded step is a policy-iteration step, see
    :class:`policyopt.tabular.NPG`, which uses this function.)

    Args:
        g: the surrogate gradient, a pytree.
        d: the natural direction ``F⁻¹g`` (e.g. from :func:`conjugate_gradient`), like ``g``.
        delta: the trust-region radius δ > 0 (TRPO's ``max_kl``, e.g. 0.01); may be traced.

    Returns:
        The scalar step length s.
    """
    quad = jnp.asarray(_tu.tree_vdot(g, d))
    tiny = jnp.finfo(jnp.result_type(quad, float)).tiny
    return jnp.sqrt(2.0 * jnp.asarray(delta, quad.dtype)) * jax.lax.rsqrt(jnp.maximum(quad, tiny))


def step_size_fixed(lam: float | jax.Array) -> jax.Array:
    """The seed's §4 fixed step length ``1/λ``: ``θ ← θ_k − (1/λ) F⁻¹g``.

    This is the minimiser of ``gᵀΔ + (λ/2) ΔᵀFΔ``, the penalised (rather than constrained)
    quadratic model; Tianshou's NPG uses it with a constant learning rate.

    Args:
        lam: the penalty weight λ > 0; may be traced.

    Returns:
        The scalar ``1/λ``.
    """
    return 1.0 / jnp.asarray(lam)
