"""Surrogates: a shared gradient at ratio 1, clipped ≤ unclipped, the k3 KL estimator, jit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from policyopt.distributions import Categorical
from policyopt.surrogates import (
    approx_kl,
    clip_fraction,
    clipped_ratio_loss,
    ratio_loss,
    score_loss,
)

N = 16
LOGP = arrays(np.float32, N, elements=st.floats(-5.0, 0.0, width=32))
ADV = arrays(np.float32, N, elements=st.floats(-3.0, 3.0, width=32))
SHIFT = arrays(np.float32, N, elements=st.floats(-1.5, 1.5, width=32))
EPS = st.floats(0.05, 0.5)


@given(LOGP, ADV, EPS)
def test_same_gradient_at_ratio_one(logp_old: np.ndarray, adv: np.ndarray, eps: float) -> None:
    logp_old, adv = jnp.asarray(logp_old), jnp.asarray(adv)
    g_score = jax.grad(score_loss)(logp_old, adv)
    g_ratio = jax.grad(ratio_loss)(logp_old, logp_old, adv)
    g_clip = jax.grad(clipped_ratio_loss)(logp_old, logp_old, adv, eps)
    expected = -adv / N  # −∇E[log π · A] per sample
    np.testing.assert_allclose(g_score, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g_ratio, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g_clip, expected, rtol=1e-6, atol=1e-7)


@given(LOGP, SHIFT, ADV, EPS)
def test_clipped_objective_below_unclipped(
    logp_old: np.ndarray, shift: np.ndarray, adv: np.ndarray, eps: float
) -> None:
    logp_old, adv = jnp.asarray(logp_old), jnp.asarray(adv)
    logp = logp_old + jnp.asarray(shift)
    # objective = −loss: clipped objective ≤ unclipped  ⇔  clipped loss ≥ ratio loss
    assert clipped_ratio_loss(logp, logp_old, adv, eps) >= ratio_loss(logp, logp_old, adv) - 1e-6
    frac = clip_fraction(logp, logp_old, eps)
    ratio = np.exp(np.asarray(logp) - np.asarray(logp_old))
    np.testing.assert_allclose(frac, np.mean(np.abs(ratio - 1) > eps), atol=1.5 / N)


def test_clipped_loss_by_hand() -> None:
    logp_old = jnp.zeros(4)
    logp = jnp.log(jnp.array([1.5, 0.5, 1.5, 0.5]))
    adv = jnp.array([1.0, 1.0, -1.0, -1.0])
    # ratio 1.5, A>0: capped at 1.2; ratio 0.5, A>0: 0.5 (pessimistic, unclipped);
    # ratio 1.5, A<0: −1.5 (unclipped); ratio 0.5, A<0: capped at −0.8.
    expected = -np.mean([1.2, 0.5, -1.5, -0.8])
    np.testing.assert_allclose(clipped_ratio_loss(logp, logp_old, adv, 0.2), expected, rtol=1e-6)
    np.testing.assert_allclose(clip_fraction(logp, logp_old, 0.2), 1.0)
    np.testing.assert_allclose(ratio_loss(logp, logp_old, adv), -np.mean([1.5, 0.5, -1.5, -0.5]))
    np.testing.assert_allclose(score_loss(logp, adv), -np.mean(np.asarray(logp) * np.asarray(adv)))


@given(LOGP, SHIFT)
def test_approx_kl_nonnegative_and_zero_at_equality(
    logp_old: np.ndarray, shift: np.ndarray
) -> None:
    logp_old = jnp.asarray(logp_old)
    assert approx_kl(logp_old + jnp.asarray(shift), logp_old) >= 0.0
    assert approx_kl(logp_old, logp_old) == 0.0


def test_approx_kl_estimates_exact_kl() -> None:
    logits_k = jnp.array([[0.5, -1.0, 0.2, 1.0], [0.0, 0.0, 0.0, 0.0]])
    logits = logits_k + jnp.array([[0.3, 0.2, -0.4, 0.1], [-0.5, 0.4, 0.0, 0.3]])
    pi_k, pi = Categorical(logits_k), Categorical(logits)
    n = 100_000
    batch_k = Categorical(jnp.repeat(logits_k, n, axis=0))
    batch = Categorical(jnp.repeat(logits, n, axis=0))
    a = batch_k.sample(jax.random.PRNGKey(0))  # a ~ π_k
    est = approx_kl(batch.log_prob(a), batch_k.log_prob(a))
    exact = jnp.mean(pi_k.kl(pi))  # KL(π_k ‖ π_θ)
    np.testing.assert_allclose(est, exact, rtol=0.05)


def test_under_jit() -> None:
    rng = np.random.default_rng(0)
    logp_old = jnp.asarray(rng.uniform(-3, 0, N), jnp.float32)
    logp = logp_old + jnp.asarray(rng.normal(0, 0.3, N), jnp.float32)
    adv = jnp.asarray(rng.normal(size=N), jnp.float32)
    eps = jnp.float32(0.2)
    pairs = [
        (score_loss, (logp, adv)),
        (ratio_loss, (logp, logp_old, adv)),
        (clipped_ratio_loss, (logp, logp_old, adv, eps)),
        (clip_fraction, (logp, logp_old, eps)),
        (approx_kl, (logp, logp_old)),
    ]
    for fn, args in pairs:
        np.testing.assert_allclose(jax.jit(fn)(*args), fn(*args), rtol=1e-6)
    # vmap over a traced clip range
    swept = jax.vmap(clipped_ratio_loss, in_axes=(None, None, None, 0))(
        logp, logp_old, adv, jnp.array([0.1, 0.2])
    )
    np.testing.assert_allclose(swept[1], clipped_ratio_loss(logp, logp_old, adv, 0.2), rtol=1e-6)
