"""Natural directions d ≈ (F + λI)⁻¹g, four ways (the seed's §8.1: Pascanu & Bengio 2014).

Pascanu & Bengio argue that Hessian-free optimisation and Krylov subspace descent are
implementations of natural gradient descent: each computes (an approximation of) F⁻¹g from
Fisher-vector products. The ``fisher_solver`` of a natural composition picks one:

* ``cg`` — truncated conjugate gradient from 0 (:func:`~policyopt.solvers.conjugate_gradient`),
  ``cg_iters`` products; the default, as in every TRPO code.
* ``dense`` — the exact damped solve: F materialised from P Fisher-vector products (one per
  parameter, vmapped) and solved by an eigendecomposition (the pseudo-inverse where F + λI is
  singular). Only for small networks: refused above :data:`DENSE_MAX_PARAMS` parameters.
* ``krylov`` — Krylov subspace descent's reduced solve (Vinyals & Povey 2012, with the
  quadratic model): an orthonormal basis Q of span{g, Fg, …, F^{k−1}g} (Lanczos with full
  re-orthogonalisation, k = ``cg_iters``), then the k×k problem (QᵀAQ) y = Qᵀg solved exactly,
  d = Qy. In exact arithmetic this is CG's k-th iterate (both minimise the quadratic over the
  same subspace); in floating point the re-orthogonalised basis does not lose conjugacy,
  which is what the comparison against ``cg`` measures.
* ``kfac`` — Kronecker-factored blocks per layer through kfac-jax
  (:mod:`policyopt.solvers.kfac`; needs the rollout's states, so the recipe calls it).
* ``hessian_free`` — Martens (2010): CG on the Gauss-Newton matrix of the proximity (for a KL,
  exactly the Fisher) with Levenberg–Marquardt damping adapted across updates from the ratio
  ρ of actual to predicted improvement (ρ < ¼ ⇒ λ ← 1.5λ, ρ > ¾ ⇒ λ ← λ/1.5), see
  :func:`adapt_damping`.

All run under ``jit`` and ``vmap`` (static sizes, no Python control flow on traced values).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from policyopt.errors import ConfigError
from policyopt.solvers.natural import conjugate_gradient

__all__ = [
    "DENSE_MAX_PARAMS",
    "FISHER_SOLVERS",
    "Direction",
    "adapt_damping",
    "dense_fisher",
    "natural_direction",
]

FISHER_SOLVERS = ("cg", "dense", "krylov", "hessian_free", "kfac")

#: ``dense`` materialises F (P² floats) from P Fisher-vector products; above this many policy
#: parameters that costs more than training (5,000 parameters: 100 MB and 5,000 products per
#: update), so it is refused with the parameter count named. A 2×32 policy on CartPole has
#: 1,282; the default 2×64 has 4,610.
DENSE_MAX_PARAMS = 5_000


class Direction(NamedTuple):
    """A natural direction and how it was found (logged as ``train/cg_*``, ``train/damping``).

    Attributes:
        d: the direction, shaped like g.
        iterations: Fisher-vector products' worth of iterations (CG, HF, Krylov size; P for
            dense).
        residual: ‖(F + λI)d − g‖² as the method tracks it (0 for dense).
        damping: the λ used.
    """

    d: Any
    iterations: jax.Array
    residual: jax.Array
    damping: jax.Array


def _flat(matvec: Callable[[Any], Any], g: Any) -> tuple[jax.Array, Callable, Callable]:
    flat_g, unravel = ravel_pytree(g)

    def mv(v: jax.Array) -> jax.Array:
        return ravel_pytree(matvec(unravel(v)))[0]

    return flat_g, mv, unravel


def dense_fisher(matvec: Callable[[Any], Any], g: Any) -> jax.Array:
    """F as a P × P matrix from P products (columns F eᵢ, vmapped), symmetrised."""
    flat_g, mv, _ = _flat(matvec, g)
    size = flat_g.shape[0]
    if size > DENSE_MAX_PARAMS:
        raise ConfigError(
            "natural",
            "fisher_solver",
            f"'dense' materialises F (P² = {size}² floats, {size} products per update); "
            f"refused above {DENSE_MAX_PARAMS} policy parameters: use cg, krylov or "
            "hessian_free, or a smaller network (hidden_sizes)",
        )
    f = jax.vmap(mv)(jnp.eye(size, dtype=flat_g.dtype))
    return 0.5 * (f + f.T)


def _pinv_solve(a: jax.Array, b: jax.Array) -> jax.Array:
    """Solve a symmetric PSD system by eigendecomposition; the pseudo-inverse where singular."""
    w, v = jnp.linalg.eigh(a)
    cutoff = jnp.finfo(a.dtype).eps * a.shape[0] * jnp.maximum(jnp.max(jnp.abs(w)), 1e-30)
    inv = jnp.where(w > cutoff, 1.0 / jnp.where(w > cutoff, w, 1.0), 0.0)
    return v @ (inv * (v.T @ b))


def _krylov(mv: Callable, flat_g: jax.Array, damping: float | jax.Array, k: int) -> jax.Array:
    """d = Q (QᵀAQ)⁻¹ Qᵀg over the k-dim Krylov space of A = F + λI (full re-orth. Lanczos)."""
    size = flat_g.shape[0]
    k = min(k, size)
    norm = jnp.sqrt(jnp.vdot(flat_g, flat_g))
    q0 = flat_g / jnp.where(norm > 0, norm, 1.0)

    def body(j: int, carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        q, aq = carry
        w = mv(q[j]) + damping * q[j]
        aq = aq.at[j].set(w)
        for _ in range(2):  # twice is enough (Kahan–Parlett "twice is enough")
            w = w - q.T @ (q @ w)
        nrm = jnp.sqrt(jnp.vdot(w, w))
        nxt = jnp.where(nrm > 1e-7 * jnp.maximum(norm, 1e-30), w / jnp.where(nrm > 0, nrm, 1), 0)
        q = jnp.where(j + 1 < k, q.at[jnp.minimum(j + 1, k - 1)].set(nxt), q)
        return q, aq

    q = jnp.zeros((k, size), flat_g.dtype).at[0].set(q0)
    q, aq = jax.lax.fori_loop(0, k, body, (q, jnp.zeros_like(q)))
    reduced = q @ aq.T
    y = _pinv_solve(0.5 * (reduced + reduced.T), q @ flat_g)
    return q.T @ y


def natural_direction(
    solver: str,
    fisher: Callable[[Any], Any],
    g: Any,
    damping: float | jax.Array,
    iterations: int,
    tol: float | jax.Array,
) -> Direction:
    """(An approximation of) ``(F + damping·I)⁻¹ g`` by ``solver`` (:data:`FISHER_SOLVERS`).

    Args:
        solver: ``cg``, ``dense``, ``krylov`` or ``hessian_free`` (static).
        fisher: the *undamped* curvature-vector product ``v ↦ F v`` on pytrees like ``g``.
        g: the surrogate gradient.
        damping: λ ≥ 0 (for ``hessian_free`` the adapted λ_k); may be traced.
        iterations: CG/HF iterations or the Krylov dimension (static).
        tol: CG's squared-residual tolerance.
    """

    def damped(v: Any) -> Any:
        return optax.tree_utils.tree_add_scale(fisher(v), damping, v)

    if solver in ("cg", "hessian_free"):
        d, info = conjugate_gradient(damped, g, iterations, tol)
        return Direction(d, info.iterations, info.residual, jnp.asarray(damping))
    flat_g, mv, unravel = _flat(fisher, g)
    if solver == "dense":
        f = dense_fisher(fisher, g)
        flat_d = _pinv_solve(f + damping * jnp.eye(f.shape[0], dtype=f.dtype), flat_g)
        its = jnp.int32(flat_g.shape[0])
    elif solver == "krylov":
        flat_d = _krylov(mv, flat_g, damping, iterations)
        its = jnp.int32(min(iterations, flat_g.shape[0]))
    else:
        raise ValueError(f"fisher_solver: got {solver!r}; allowed: {', '.join(FISHER_SOLVERS)}")
    r = mv(flat_d) + damping * flat_d - flat_g
    return Direction(unravel(flat_d), its, jnp.vdot(r, r), jnp.asarray(damping))


def adapt_damping(
    damping: jax.Array, actual: jax.Array, predicted: jax.Array, low: float = 1e-8
) -> jax.Array:
    """Martens' Levenberg–Marquardt rule on ρ = actual / predicted improvement.

    ρ < ¼ (the quadratic model over-promised) ⇒ λ ← 1.5 λ; ρ > ¾ ⇒ λ ← λ / 1.5; else kept;
    λ stays in [``low``, 1e4]. A non-finite ρ (no predicted improvement) keeps λ.
    """
    rho = actual / jnp.where(predicted != 0, predicted, jnp.nan)
    new = jnp.where(rho < 0.25, damping * 1.5, jnp.where(rho > 0.75, damping / 1.5, damping))
    new = jnp.where(jnp.isfinite(rho), new, damping)
    return jnp.clip(new, low, 1e4)
