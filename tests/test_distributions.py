"""Distributions against scipy / float64 numpy oracles; KL properties; jit and vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from policyopt.distributions import Categorical, DiagGaussian

FLOATS = st.floats(-4.0, 4.0, allow_nan=False, allow_subnormal=False, width=32)


def _np_kl_gauss(mu_p: np.ndarray, ls_p: np.ndarray, mu_q: np.ndarray, ls_q: np.ndarray) -> float:
    """KL(N_p ‖ N_q) with full covariance matrices (the textbook closed form), float64."""
    cov_p, cov_q = np.diag(np.exp(2 * ls_p)), np.diag(np.exp(2 * ls_q))
    inv_q = np.linalg.inv(cov_q)
    diff = mu_q - mu_p
    k = mu_p.shape[0]
    _, logdet_p = np.linalg.slogdet(cov_p)
    _, logdet_q = np.linalg.slogdet(cov_q)
    return 0.5 * (np.trace(inv_q @ cov_p) + diff @ inv_q @ diff - k + logdet_q - logdet_p)


# ------------------------------------------------------------------ categorical


def test_categorical_against_scipy() -> None:
    rng = np.random.default_rng(0)
    logits_p, logits_q = rng.normal(size=(2, 5, 4)) * 2.0
    actions = rng.integers(0, 4, size=5)
    with jax.enable_x64(True):
        p, q = Categorical(jnp.asarray(logits_p)), Categorical(jnp.asarray(logits_q))
        probs_p = scipy.special.softmax(logits_p, axis=-1)
        probs_q = scipy.special.softmax(logits_q, axis=-1)
        np.testing.assert_allclose(
            p.log_prob(jnp.asarray(actions)), np.log(probs_p[np.arange(5), actions]), rtol=1e-12
        )
        np.testing.assert_allclose(p.entropy(), scipy.stats.entropy(probs_p, axis=-1), rtol=1e-12)
        np.testing.assert_allclose(
            p.kl(q), scipy.special.rel_entr(probs_p, probs_q).sum(-1), rtol=1e-10
        )
        np.testing.assert_allclose(
            q.kl(p), scipy.special.rel_entr(probs_q, probs_p).sum(-1), rtol=1e-10
        )
        np.testing.assert_allclose(p.probs, probs_p, rtol=1e-12)
        np.testing.assert_array_equal(p.mode(), logits_p.argmax(-1))


def test_categorical_masked_logits_are_finite() -> None:
    logits = jnp.array([[0.0, -jnp.inf, 1.0], [2.0, 0.5, -jnp.inf]])
    p, q = Categorical(logits), Categorical(jnp.array([[0.3, 0.0, -1.0], [0.0, 0.0, 0.0]]))
    assert np.all(np.isfinite(p.entropy()))
    assert np.all(np.isfinite(p.kl(q)))
    assert np.all(np.asarray(p.kl(q)) >= 0)
    assert np.all(np.asarray(p.sample(jax.random.PRNGKey(0))) != np.array([1, 2]))


@given(arrays(np.float32, (3, 5), elements=FLOATS), arrays(np.float32, (3, 5), elements=FLOATS))
def test_categorical_kl_nonnegative_zero_at_equality(a: np.ndarray, b: np.ndarray) -> None:
    p, q = Categorical(jnp.asarray(a)), Categorical(jnp.asarray(b))
    assert np.all(np.asarray(p.kl(q)) >= -1e-6)
    assert np.all(np.asarray(q.kl(p)) >= -1e-6)
    np.testing.assert_allclose(p.kl(p), 0.0, atol=1e-6)
    # logits are defined up to a shift: the same distribution
    np.testing.assert_allclose(p.kl(Categorical(jnp.asarray(a) + 3.0)), 0.0, atol=1e-5)


def test_categorical_sample_frequencies() -> None:
    logits = jnp.log(jnp.array([0.1, 0.2, 0.3, 0.4]))
    samples = Categorical(jnp.broadcast_to(logits, (20_000, 4))).sample(jax.random.PRNGKey(1))
    assert samples.shape == (20_000,)
    freq = np.bincount(np.asarray(samples), minlength=4) / 20_000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.015)


# ------------------------------------------------------------------ diagonal Gaussian


def test_gaussian_against_scipy() -> None:
    rng = np.random.default_rng(1)
    d = 3
    mu_p, mu_q, x = rng.normal(size=(3, 4, d))
    ls_p, ls_q = rng.normal(size=(2, 4, d)) * 0.5
    with jax.enable_x64(True):
        p = DiagGaussian(jnp.asarray(mu_p), jnp.asarray(ls_p))
        q = DiagGaussian(jnp.asarray(mu_q), jnp.asarray(ls_q))
        for b in range(4):
            mvn = scipy.stats.multivariate_normal(mu_p[b], np.diag(np.exp(2 * ls_p[b])))
            np.testing.assert_allclose(p.log_prob(jnp.asarray(x))[b], mvn.logpdf(x[b]), rtol=1e-12)
            np.testing.assert_allclose(p.entropy()[b], mvn.entropy(), rtol=1e-12)
            np.testing.assert_allclose(
                p.kl(q)[b], _np_kl_gauss(mu_p[b], ls_p[b], mu_q[b], ls_q[b]), rtol=1e-10
            )
            np.testing.assert_allclose(
                q.kl(p)[b], _np_kl_gauss(mu_q[b], ls_q[b], mu_p[b], ls_p[b]), rtol=1e-10
            )
        # one dimension: scipy.stats.norm
        g = DiagGaussian(jnp.asarray(mu_p[:, :1]), jnp.asarray(ls_p[:, :1]))
        ref = scipy.stats.norm(mu_p[:, 0], np.exp(ls_p[:, 0]))
        np.testing.assert_allclose(g.log_prob(jnp.asarray(x[:, :1])), ref.logpdf(x[:, 0]))
        np.testing.assert_allclose(g.entropy(), ref.entropy())


def test_gaussian_log_std_broadcasts() -> None:
    mean = jnp.arange(6.0).reshape(2, 3)
    log_std = jnp.array([0.1, -0.2, 0.3])
    full = DiagGaussian(mean, jnp.broadcast_to(log_std, (2, 3)))
    shared = DiagGaussian(mean, log_std)
    x = jnp.ones((2, 3))
    np.testing.assert_allclose(shared.log_prob(x), full.log_prob(x), rtol=1e-6)
    np.testing.assert_allclose(shared.entropy(), full.entropy(), rtol=1e-6)
    np.testing.assert_allclose(shared.kl(full), 0.0, atol=1e-7)
    other = DiagGaussian(mean + 1.0, jnp.zeros(3))
    np.testing.assert_allclose(shared.kl(other), full.kl(other), rtol=1e-6)
    assert shared.sample(jax.random.PRNGKey(0)).shape == (2, 3)
    assert shared.entropy().shape == (2,)
    np.testing.assert_array_equal(shared.mode(), mean)


@given(
    arrays(np.float32, (2, 3), elements=FLOATS),
    arrays(np.float32, (2, 3), elements=st.floats(-2, 2, width=32)),
    arrays(np.float32, (2, 3), elements=FLOATS),
    arrays(np.float32, (2, 3), elements=st.floats(-2, 2, width=32)),
)
def test_gaussian_kl_nonnegative_zero_at_equality(
    mu_p: np.ndarray, ls_p: np.ndarray, mu_q: np.ndarray, ls_q: np.ndarray
) -> None:
    p = DiagGaussian(jnp.asarray(mu_p), jnp.asarray(ls_p))
    q = DiagGaussian(jnp.asarray(mu_q), jnp.asarray(ls_q))
    assert np.all(np.asarray(p.kl(q)) >= 0.0)
    assert np.all(np.asarray(q.kl(p)) >= 0.0)
    np.testing.assert_array_equal(p.kl(p), 0.0)


def test_gaussian_sample_moments() -> None:
    mean, log_std = jnp.array([1.0, -2.0]), jnp.log(jnp.array([0.5, 2.0]))
    x = DiagGaussian(jnp.broadcast_to(mean, (20_000, 2)), log_std).sample(jax.random.PRNGKey(2))
    np.testing.assert_allclose(x.mean(0), mean, atol=0.05)
    np.testing.assert_allclose(x.std(0), jnp.exp(log_std), rtol=0.03)


# ------------------------------------------------------------------ transformations


@pytest.mark.parametrize(
    "dist, x",
    [
        (Categorical(jnp.array([[0.0, 1.0, 2.0], [1.0, 0.0, -1.0]])), jnp.array([2, 0])),
        (DiagGaussian(jnp.zeros((2, 3)), jnp.full((2, 3), -0.5)), jnp.ones((2, 3))),
    ],
    ids=["categorical", "gaussian"],
)
def test_jit_and_vmap(dist: Categorical | DiagGaussian, x: jax.Array) -> None:
    other = jax.tree.map(lambda a: a * 0.5 + 0.1, dist)

    def everything(d: Categorical | DiagGaussian, o: Categorical | DiagGaussian, x: jax.Array):
        return d.log_prob(x), d.entropy(), d.kl(o), d.mode()

    eager = everything(dist, other, x)
    jitted = jax.jit(everything)(dist, other, x)
    mapped = jax.vmap(everything)(dist, other, x)  # map over the batch axis of the pytrees
    for a, b, c in zip(eager, jitted, mapped, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
        np.testing.assert_allclose(a, c, rtol=1e-6)
    s = jax.jit(lambda d, k: d.sample(k))(dist, jax.random.PRNGKey(0))
    assert s.shape == x.shape
