"""Diagnostics every update reports (DESIGN §4), in stable-baselines3's names where SB3 has one.

``train/approx_kl`` is the k3 sample estimator of KL(π_k‖π_θ); ``train/kl_forward`` and
``train/kl_reverse`` are the exact per-state KL(π_k‖π_θ) and KL(π_θ‖π_k) of the two
distributions, averaged over the rollout states (no sampling error), so users can see how far
each recipe's step actually moved the policy in both directions.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from policyopt.surrogates import approx_kl, clip_fraction

__all__ = ["explained_variance", "policy_diagnostics"]


def explained_variance(y_pred: jax.Array, y_true: jax.Array) -> jax.Array:
    """``1 − Var[y − ŷ]/Var[y]`` (1: perfect critic, 0: no better than a constant)."""
    var = jnp.var(y_true)
    return jnp.where(var == 0, jnp.nan, 1.0 - jnp.var(y_true - y_pred) / var)


def policy_diagnostics(
    dist_k: Any, dist_new: Any, action: jax.Array, clip_eps: float | jax.Array
) -> dict[str, jax.Array]:
    """KL both ways (exact), approx KL (k3), clip fraction at ε, entropy of the new policy."""
    logp_k = dist_k.log_prob(action)
    logp = dist_new.log_prob(action)
    return {
        "train/kl_forward": jnp.mean(dist_k.kl(dist_new)),
        "train/kl_reverse": jnp.mean(dist_new.kl(dist_k)),
        "train/approx_kl": approx_kl(logp, logp_k),
        "train/clip_fraction": clip_fraction(logp, logp_k, clip_eps),
        "train/entropy": jnp.mean(dist_new.entropy()),
    }
