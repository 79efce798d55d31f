"""Proximity terms: KL in both directions, the Euclidean distance, and Fisher-vector products.

The proximity term of DESIGN §1 says how far θ may move from θ_k:

* ``euclidean``: ½‖θ − θ_k‖², whose proximal step is plain gradient descent (vanilla PG, §3);
* ``kl_divergence(..., "forward")``: KL(π_k ‖ π_θ), averaged over the visited states; TRPO's
  constraint (§5), PPO-KL's penalty (§6), and through its Hessian the Fisher metric of NPG (§4);
* ``kl_divergence(..., "reverse")``: KL(π_θ ‖ π_k), MDPO's Bregman term (Tomar et al. 2022,
  §8.2 of the seed).

The Fisher information matrix at θ_k is the Hessian of θ ↦ KL(π_k ‖ π_θ) at θ = θ_k (the KL's
second-order model, §4), so ``F·v`` is a Hessian-vector product of the KL: forward-mode ``jvp``
over reverse-mode ``grad`` (Pearlmutter 1994). It costs about two gradient evaluations, never
forms the dense ``P × P`` matrix, and works on any parameter pytree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from policyopt.errors import check_choice

__all__ = [
    "DIRECTIONS",
    "adapt_kl_coefficient",
    "euclidean",
    "fisher_vector_product",
    "kl_divergence",
]

DIRECTIONS: tuple[str, ...] = ("forward", "reverse")
"""The allowed ``direction`` values of :func:`kl_divergence`."""


def kl_divergence(dist_k: Any, dist_theta: Any, direction: str = "forward") -> jax.Array:
    """Mean over the batch of the KL between the old and the new policy, in either direction.

    * ``"forward"``: ``E_s[KL(π_k(·|s) ‖ π_θ(·|s))]``, mass-covering; the KL of TRPO, NPG and
      PPO-KL, whose Hessian at θ_k is the Fisher matrix.
    * ``"reverse"``: ``E_s[KL(π_θ(·|s) ‖ π_k(·|s))]``, mode-seeking; MDPO's Bregman divergence
      for the negative-entropy mirror map.

    Both agree to second order around θ_k; they differ for large steps.

    Args:
        dist_k: the old policy's distribution over a batch of states (a
            :mod:`policyopt.distributions` pytree, usually ``stop_gradient``-ed).
        dist_theta: the new policy's distribution over the same states.
        direction: ``"forward"`` or ``"reverse"``; static (a Python string).

    Returns:
        The scalar mean KL.

    Raises:
        ValueError: (a :class:`policyopt.errors.ConfigError`) for any other ``direction``; the
            message names ``direction`` and the allowed values.
    """
    check_choice("kl_divergence", "direction", direction, DIRECTIONS)
    kl = dist_k.kl(dist_theta) if direction == "forward" else dist_theta.kl(dist_k)
    return jnp.mean(kl)


def euclidean(params: Any, params_k: Any) -> jax.Array:
    """``½‖θ − θ_k‖²`` summed over every leaf of two parameter pytrees of the same structure.

    The proximity term whose proximal step ``argmin_θ gᵀθ + ‖θ − θ_k‖²/(2η)`` is the gradient
    step ``θ_k − η g`` of vanilla PG (§3).

    Returns:
        The scalar squared distance (halved).
    """
    diff = optax.tree_utils.tree_sub(params, params_k)
    return 0.5 * optax.tree_utils.tree_vdot(diff, diff)


def fisher_vector_product(
    kl_fn: Callable[[Any], jax.Array], params: Any, damping: float | jax.Array = 0.0
) -> Callable[[Any], Any]:
    """The damped Fisher-vector product ``v ↦ (F + damping·I) v`` at ``params``, matrix-free.

    ``kl_fn(θ)`` must return the mean ``KL(stop_gradient(π_k) ‖ π_θ)`` over the batch, with
    π_k the policy at ``params`` (= θ_k). At θ = θ_k the KL and its gradient vanish and its
    Hessian equals the Fisher information ``F = E_s E_{a~π_k}[∇log π ∇log πᵀ]`` (Amari 1998;
    Kakade 2002), so

        F v = ∇²KL(θ_k) v = d/dt ∇KL(θ_k + t v) |_{t=0}
            = ``jax.jvp(jax.grad(kl_fn), (θ_k,), (v,))[1]``.

    The damping (Levenberg–Marquardt style, Martens 2010) keeps the system positive definite
    when F is singular (over-parameterised networks, saturated softmax), which conjugate
    gradient needs; TRPO implementations use 0.01–0.1.

    Args:
        kl_fn: ``θ -> mean KL(stop_gradient(π_k) ‖ π_θ)``.
        params: θ_k, the point at which F is evaluated (a pytree).
        damping: λ ≥ 0 added as ``λ·v``; may be traced.

    Returns:
        A function taking a pytree ``v`` shaped like ``params`` and returning ``(F + λI) v``,
        shaped like ``params``. Each call costs one forward-over-reverse pass.
    """
    grad_kl = jax.grad(kl_fn)

    def fvp(v: Any) -> Any:
        hv = jax.jvp(grad_kl, (params,), (v,))[1]
        return optax.tree_utils.tree_add_scale(hv, damping, v)

    return fvp


def adapt_kl_coefficient(
    beta: float | jax.Array, kl: float | jax.Array, target: float | jax.Array
) -> jax.Array:
    """PPO's adaptive KL penalty rule (Schulman et al. 2017, §4), shared by both levels.

    ``kl < target/1.5 ⇒ β/2``; ``kl > 1.5·target ⇒ 2β``; otherwise β is kept.
    """
    return jnp.where(kl < target / 1.5, beta / 2, jnp.where(kl > target * 1.5, beta * 2, beta))
