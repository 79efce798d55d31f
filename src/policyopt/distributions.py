"""Action distributions as pytrees: categorical and diagonal Gaussian.

Policies are ``apply(params, obs) -> distribution``, so every surrogate (which needs
``log_prob``), divergence (``kl``) and diagnostic (``entropy``) works on any policy without
knowing its layers. Both classes are ``flax.struct.dataclass`` pytrees: they pass through
``jit``, ``vmap``, ``lax.scan`` and ``jax.tree.map(jax.lax.stop_gradient, dist)`` (how the
recipes freeze π_k) like any array.

They are small enough to write by hand (distrax would add a TensorFlow-Probability-sized
dependency for two classes). ``p.kl(q)`` is KL(p ‖ q), so both directions the recipes need are
one call each: ``dist_k.kl(dist)`` = KL(π_k ‖ π_θ) (TRPO, NPG, PPO-KL; the paper's §4–§6) and
``dist.kl(dist_k)`` = KL(π_θ ‖ π_k) (MDPO's Bregman term, §8.2).

Batching: every leading axis is a batch axis; the categorical's support and the Gaussian's event
are the last axis. ``log_prob``, ``entropy`` and ``kl`` return one value per batch element.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import struct

__all__ = ["Categorical", "DiagGaussian"]

_LOG_2PI = math.log(2.0 * math.pi)


@struct.dataclass
class Categorical:
    """Categorical distribution over the last axis of ``logits``.

    Everything is computed from ``log_softmax(logits)`` (never ``log(softmax)``), so large or
    very negative logits stay finite; a logit of ``-inf`` masks an action out (probability 0)
    without producing NaNs in ``entropy`` or ``kl``.

    Attributes:
        logits: unnormalised log-probabilities, shape ``[..., n_actions]``.
    """

    logits: jax.Array

    @property
    def log_probs(self) -> jax.Array:
        """Normalised log-probabilities ``log π(a) = logits_a − logsumexp(logits)``."""
        return jax.nn.log_softmax(self.logits, axis=-1)

    @property
    def probs(self) -> jax.Array:
        """Probabilities ``π(a) = softmax(logits)_a``."""
        return jax.nn.softmax(self.logits, axis=-1)

    def sample(self, key: jax.Array) -> jax.Array:
        """Draw one action index per batch element (Gumbel-max), shape ``logits.shape[:-1]``."""
        return jax.random.categorical(key, self.logits, axis=-1)

    def log_prob(self, x: jax.Array) -> jax.Array:
        """``log π(x)`` for integer actions ``x`` of shape ``logits.shape[:-1]``."""
        # A select, not a gather: its gradient needs no scatter-add (same values; actions
        # masked with −inf stay NaN-free, which a one-hot product would not).
        idx = jnp.asarray(x).astype(jnp.int32)[..., None]
        hit = jnp.arange(self.log_probs.shape[-1]) == idx
        return jnp.sum(jnp.where(hit, self.log_probs, 0.0), axis=-1)

    def entropy(self) -> jax.Array:
        """``H(π) = −Σ_a π(a) log π(a)``, with ``0·log 0 = 0`` for masked actions."""
        lp = self.log_probs
        p = jnp.exp(lp)
        return -jnp.sum(p * jnp.where(p > 0, lp, 0.0), axis=-1)

    def mode(self) -> jax.Array:
        """The most probable action (``predict(..., deterministic=True)``)."""
        return jnp.argmax(self.logits, axis=-1)

    def kl(self, other: Categorical) -> jax.Array:
        """``KL(self ‖ other) = Σ_a p(a) (log p(a) − log q(a))``, terms with p(a) = 0 dropped.

        Args:
            other: the second argument q of the KL (same number of actions; batch shapes
                broadcast).

        Returns:
            The KL per batch element (≥ 0, and exactly 0 when the logits agree up to a shift).
        """
        lp, lq = self.log_probs, other.log_probs
        p = jnp.exp(lp)
        return jnp.sum(p * jnp.where(p > 0, lp - lq, 0.0), axis=-1)


@struct.dataclass
class DiagGaussian:
    """Gaussian with diagonal covariance over the last axis: ``N(mean, diag(exp(log_std)²))``.

    Parameterised by ``log_std`` (not ``std``) because that is what policies learn: it is
    unconstrained and the KL and entropy are simple in it. ``log_std`` broadcasts against
    ``mean``, so a state-independent ``log_std`` of shape ``[d]`` works with ``mean`` of shape
    ``[batch, d]`` (the stable-baselines3 / CleanRL continuous policy).

    Attributes:
        mean: the mean μ, shape ``[..., d]``.
        log_std: log σ, broadcastable to ``mean``'s shape.
    """

    mean: jax.Array
    log_std: jax.Array

    def _shape(self) -> tuple[int, ...]:
        return jnp.broadcast_shapes(jnp.shape(self.mean), jnp.shape(self.log_std))

    def sample(self, key: jax.Array) -> jax.Array:
        """Reparameterised draw ``μ + σ ⊙ ε`` with ``ε ~ N(0, I)``."""
        eps = jax.random.normal(key, self._shape(), dtype=jnp.result_type(self.mean))
        return self.mean + jnp.exp(self.log_std) * eps

    def log_prob(self, x: jax.Array) -> jax.Array:
        """``log N(x; μ, σ²) = Σ_i [−½ ((x_i − μ_i)/σ_i)² − log σ_i − ½ log 2π]``."""
        z = (x - self.mean) * jnp.exp(-self.log_std)
        per = -0.5 * z**2 - self.log_std - 0.5 * _LOG_2PI
        return jnp.sum(jnp.broadcast_to(per, jnp.broadcast_shapes(per.shape, self._shape())), -1)

    def entropy(self) -> jax.Array:
        """``H = Σ_i (log σ_i + ½ (1 + log 2π))``: independent of the mean."""
        log_std = jnp.broadcast_to(self.log_std, self._shape())
        return jnp.sum(log_std + 0.5 * (1.0 + _LOG_2PI), axis=-1)

    def mode(self) -> jax.Array:
        """The mean (``predict(..., deterministic=True)``), broadcast to the event shape."""
        return jnp.broadcast_to(self.mean, self._shape())

    def kl(self, other: DiagGaussian) -> jax.Array:
        """``KL(self ‖ other)`` between diagonal Gaussians p = self, q = other.

        Per dimension ``log(σ_q/σ_p) + (σ_p² + (μ_p − μ_q)²)/(2σ_q²) − ½``, written as
        ``½ expm1(2(log σ_p − log σ_q)) − (log σ_p − log σ_q) + ½ ((μ_p − μ_q)/σ_q)²`` so that it
        is exactly 0 at p = q and accurate (no cancellation) for nearby distributions, which is
        the regime trust-region methods live in (δ ≈ 0.01).

        Args:
            other: the second argument q of the KL (batch shapes broadcast).

        Returns:
            The KL per batch element, summed over the event axis.
        """
        d_log_std = self.log_std - other.log_std
        z = (self.mean - other.mean) * jnp.exp(-other.log_std)
        per = 0.5 * jnp.expm1(2.0 * d_log_std) - d_log_std + 0.5 * z**2
        shape = jnp.broadcast_shapes(per.shape, self._shape(), other._shape())
        return jnp.sum(jnp.broadcast_to(per, shape), axis=-1)
