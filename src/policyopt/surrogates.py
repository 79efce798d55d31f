"""Surrogate objectives, written as losses to minimise (reward convention, the paper's argmin).

Every update of DESIGN §1 is ``θ_{k+1} = argmin_θ surrogate(θ; θ_k) + proximity(θ, θ_k)``. The
surrogate is a sample estimate, from a batch collected by π_k, of the (negated) first-order
model of the return around θ_k. With ``r_θ = π_θ(a|s)/π_k(a|s)`` and advantages ``Â`` of π_k:

=================  =========================================  ===============================
surrogate          loss                                       used by
=================  =========================================  ===============================
score              −E[log π_θ · Â]                            PG (§3), NPG (§4)
ratio              −E[r_θ · Â]                                TRPO (§5), PPO-KL (§6), MDPO
clipped ratio      −E[min(r_θ Â, clip(r_θ, 1−ε, 1+ε) Â)]      PPO-clip (§6)
=================  =========================================  ===============================

At θ = θ_k (``r = 1``) all three have the same gradient, ``−E[∇log π_θ · Â]``, the policy
gradient theorem's estimate: they differ only away from θ_k, which is where the proximity terms
act. All functions take per-sample arrays of the same shape (one entry per (state, action)
sample) and return a scalar mean, so they compose with ``jax.grad`` and ``vmap``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from policyopt.errors import same_shape

__all__ = ["approx_kl", "clip_fraction", "clipped_ratio_loss", "ratio_loss", "score_loss"]


def score_loss(logp: jax.Array, adv: jax.Array) -> jax.Array:
    """Score-function (REINFORCE) surrogate ``−E[log π_θ(a|s) · Â(s, a)]``.

    Its gradient is minus the likelihood-ratio policy gradient (Williams 1992; Sutton et al.
    2000), the direction vanilla PG (§3) and NPG (§4, preconditioned by F⁻¹) follow.

    Args:
        logp: ``log π_θ(a|s)`` per sample (differentiable in θ).
        adv: advantage estimates per sample (treated as constants).

    Returns:
        The scalar loss.
    """
    same_shape("score_loss", logp=logp, adv=adv)
    return -jnp.mean(logp * adv)


def ratio_loss(logp: jax.Array, logp_old: jax.Array, adv: jax.Array) -> jax.Array:
    """Importance-sampled surrogate ``−E[r_θ · Â]``, ``r_θ = exp(log π_θ − log π_k)``.

    This is −L_{π_k}(π_θ) of Kakade & Langford (2002) / Schulman et al. (2015, eq. 14) up to a
    constant: the local first-order model of the return that TRPO maximises inside its KL trust
    region (§5). Unlike the score surrogate its value at θ ≠ θ_k is meaningful, which is what
    the line search and PPO-KL/MDPO's many-step inner loops need.

    Args:
        logp: ``log π_θ(a|s)`` per sample.
        logp_old: ``log π_k(a|s)`` of the behaviour policy (constants).
        adv: advantage estimates per sample.

    Returns:
        The scalar loss.
    """
    same_shape("ratio_loss", logp=logp, logp_old=logp_old, adv=adv)
    return -jnp.mean(jnp.exp(logp - logp_old) * adv)


def clipped_ratio_loss(
    logp: jax.Array, logp_old: jax.Array, adv: jax.Array, clip_eps: float | jax.Array
) -> jax.Array:
    """PPO-clip surrogate ``−E[min(r_θ Â, clip(r_θ, 1−ε, 1+ε) Â)]`` (Schulman et al. 2017, eq. 7).

    The min makes it a pessimistic bound on the ratio surrogate: once the ratio has moved more
    than ε in the direction the advantage rewards, the sample stops contributing gradient, so
    the clip itself plays the role of the proximity term (§6; the paper's max(...) in cost
    form is this expression with the sign flipped).

    Args:
        logp: ``log π_θ(a|s)`` per sample.
        logp_old: ``log π_k(a|s)`` per sample.
        adv: advantage estimates per sample.
        clip_eps: the clip range ε > 0; may be traced.

    Returns:
        The scalar loss, always ≥ :func:`ratio_loss` of the same inputs.
    """
    same_shape("clipped_ratio_loss", logp=logp, logp_old=logp_old, adv=adv)
    ratio = jnp.exp(logp - logp_old)
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    return -jnp.mean(jnp.minimum(ratio * adv, clipped * adv))


def clip_fraction(logp: jax.Array, logp_old: jax.Array, clip_eps: float | jax.Array) -> jax.Array:
    """Fraction of samples with ``|r_θ − 1| > ε``: stable-baselines3's ``train/clip_fraction``.

    A diagnostic of how far the update moved the policy on the batch; not differentiable.

    Returns:
        A scalar in [0, 1], in the dtype of ``logp``.
    """
    outside = jnp.abs(jnp.exp(logp - logp_old) - 1.0) > clip_eps
    return jnp.mean(outside.astype(jnp.result_type(logp)))


def approx_kl(logp: jax.Array, logp_old: jax.Array) -> jax.Array:
    """k3 estimator of KL(π_k ‖ π_θ) from actions sampled by π_k: ``E[(r − 1) − log r]``.

    With ``r = π_θ(a|s)/π_k(a|s)`` and ``a ~ π_k``, ``E[r − 1] = 0`` and ``E[−log r]`` is the KL,
    so the estimator is unbiased; each term ``(r − 1) − log r`` is ≥ 0 (since log r ≤ r − 1), so
    it never goes negative, and it has lower variance than the naive ``−log r`` (J. Schulman,
    "Approximating KL Divergence", 2020). stable-baselines3 and CleanRL log it as
    ``approx_kl`` and use it for PPO's early stop. ``expm1`` keeps it accurate near r = 1, and
    each term is clamped at 0 so rounding can never make it negative.

    Args:
        logp: ``log π_θ(a|s)`` per sample.
        logp_old: ``log π_k(a|s)`` per sample (the sampling policy).

    Returns:
        The scalar estimate (≥ 0).
    """
    log_ratio = logp - logp_old
    return jnp.mean(jnp.maximum(jnp.expm1(log_ratio) - log_ratio, 0.0))
