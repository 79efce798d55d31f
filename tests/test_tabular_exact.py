"""Exact tabular quantities against independent references (float64)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policyopt import tabular as T
from policyopt.tabular.exact import evaluate_arrays, fisher_blocks, kl_rho, softmax


def _garnet(seed: int, S: int = 6, A: int = 3, gamma: float = 0.9) -> T.TabularMDP:
    return T.garnet(S, A, branching=min(3, S), gamma=gamma, seed=seed)


def _f(mdp: T.TabularMDP, theta: jax.Array) -> jax.Array:
    return evaluate_arrays(mdp.P, mdp.cost, mdp.gamma, mdp.mu, softmax(theta)).f


@given(seed=st.integers(0, 10_000))
def test_gradient_formula1_matches_finite_differences_and_autodiff(seed: int) -> None:
    mdp = _garnet(seed)
    theta = np.random.default_rng(seed).normal(size=(mdp.n_states, mdp.n_actions))
    g = T.policy_gradient(mdp, theta)
    with jax.enable_x64(True):
        auto = np.asarray(jax.grad(lambda th: _f(mdp, th))(jnp.asarray(theta)))
        h = 1e-6
        fd = np.zeros_like(theta)
        for idx in np.ndindex(theta.shape):
            e = np.zeros_like(theta)
            e[idx] = h
            fd[idx] = (
                float(_f(mdp, jnp.asarray(theta + e))) - float(_f(mdp, jnp.asarray(theta - e)))
            ) / (2 * h)
    scale = np.linalg.norm(g)
    assert np.linalg.norm(g - fd) / scale < 1e-6
    assert np.linalg.norm(g - auto) / scale < 1e-10
    # Agarwal et al. (2021) Lemma C.1: ∂f/∂θ[s,a] = ρ(s) π(a|s) A(s,a).
    ev = T.evaluate(mdp, T.softmax_np(theta))
    np.testing.assert_allclose(g, ev.rho[:, None] * T.softmax_np(theta) * ev.A, atol=1e-12)


@given(seed=st.integers(0, 10_000), gamma=st.floats(0.5, 0.99))
def test_visitation_sums_to_horizon_and_matches_series(seed: int, gamma: float) -> None:
    mdp = _garnet(seed, gamma=gamma)
    pi = T.softmax_np(np.random.default_rng(seed).normal(size=(mdp.n_states, mdp.n_actions)))
    ev = T.evaluate(mdp, pi)
    assert abs(ev.rho.sum() - 1.0 / (1.0 - gamma)) < 1e-9 / (1 - gamma)
    # ρ(s) = Σ_{k≥0} γ^k Pr(s_k = s), truncated where γ^k < 1e-14.
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    p, series = mdp.mu.copy(), np.zeros(mdp.n_states)
    for k in range(int(np.log(1e-14) / np.log(gamma)) + 1):
        series += gamma**k * p
        p = p @ P_pi
    np.testing.assert_allclose(ev.rho, series, atol=1e-10)
    # Bellman equations.
    np.testing.assert_allclose(ev.V, (pi * ev.Q).sum(1), atol=1e-10)
    np.testing.assert_allclose(ev.Q, mdp.cost + gamma * mdp.P @ ev.V, atol=1e-10)
    assert abs(ev.f - mdp.mu @ ev.V) < 1e-12


@given(seed=st.integers(0, 10_000))
def test_performance_difference_lemma(seed: int) -> None:
    """f(π') − f(π) = Σ_s ρ^{π'}(s) Σ_a π'(a|s) A^π(s,a) (Kakade & Langford 2002; seed §5.2)."""
    mdp = _garnet(seed)
    rng = np.random.default_rng(seed)
    pi = T.softmax_np(rng.normal(size=(mdp.n_states, mdp.n_actions)))
    pi2 = T.softmax_np(2 * rng.normal(size=(mdp.n_states, mdp.n_actions)))
    ev, ev2 = T.evaluate(mdp, pi), T.evaluate(mdp, pi2)
    assert abs((ev2.f - ev.f) - ev2.rho @ (pi2 * ev.A).sum(1)) < 1e-10


def test_optimal_satisfies_bellman_optimality_and_dominates() -> None:
    mdp = _garnet(3, S=12, A=4)
    opt = T.optimal(mdp)
    np.testing.assert_allclose(opt.V, opt.Q.min(axis=1), atol=1e-10)
    for seed in range(5):
        pi = T.softmax_np(np.random.default_rng(seed).normal(size=(12, 4)))
        assert np.all(T.evaluate(mdp, pi).V >= opt.V - 1e-10)


def test_soft_optimal_is_fixed_point_of_soft_bellman() -> None:
    mdp, lam = _garnet(5), 0.05
    so = T.soft_optimal(mdp, lam)
    # v(s) = −λ log Σ_a exp(−q(s,a)/λ) and π* = softmax(−q/λ).
    v = -lam * np.log(np.exp(-so.Q / lam).sum(1))
    np.testing.assert_allclose(so.V, v, atol=1e-9)
    np.testing.assert_allclose(so.pi, T.softmax_np(-so.Q / lam), atol=1e-9)


@given(seed=st.integers(0, 10_000))
def test_fisher_is_hessian_of_kl_rho(seed: int) -> None:
    """F(θ_k) = ∇²_θ KL^ρ(π_k, π_θ) at θ = θ_k, with the same unnormalised ρ."""
    mdp = _garnet(seed, S=4, A=3)
    theta_k = np.random.default_rng(seed).normal(size=(4, 3))
    blocks = T.fisher(mdp, theta_k)
    with jax.enable_x64(True):
        rho = T.evaluate(mdp, T.softmax_np(theta_k)).rho
        pi_k = softmax(jnp.asarray(theta_k))
        H = jax.hessian(lambda th: kl_rho(jnp.asarray(rho), pi_k, softmax(th.reshape(4, 3))))(
            jnp.asarray(theta_k).ravel()
        )
        dense = np.asarray(T.fisher_dense(jnp.asarray(blocks)))
    np.testing.assert_allclose(dense, np.asarray(H), atol=1e-10)
    # and the closed form ρ(s)(diag π − π πᵀ)
    pi = T.softmax_np(theta_k)
    closed = rho[:, None, None] * (
        np.einsum("sa,ab->sab", pi, np.eye(3)) - np.einsum("sa,sb->sab", pi, pi)
    )
    np.testing.assert_allclose(blocks, closed, atol=1e-12)


@given(seed=st.integers(0, 10_000))
def test_kl_nonnegative_zero_at_equality(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, q = T.softmax_np(rng.normal(size=(5, 4))), T.softmax_np(rng.normal(size=(5, 4)))
    with jax.enable_x64(True):
        kl = np.asarray(T.kl_per_state(jnp.asarray(p), jnp.asarray(q)))
        assert np.all(kl >= 0)
        assert float(T.kl_max(jnp.asarray(p), jnp.asarray(p))) == 0.0
        assert float(T.kl_max(jnp.asarray(p), jnp.asarray(q))) == pytest.approx(kl.max())


def test_evaluate_rejects_wrong_policy_shape() -> None:
    with pytest.raises(ValueError, match="pi must have shape"):
        T.evaluate(_garnet(0), np.ones((2, 2)) / 2)


def test_fisher_blocks_under_jit_do_not_recompile() -> None:
    traces = []
    with jax.enable_x64(True):
        f = jax.jit(lambda r, p: (traces.append(1), fisher_blocks(r, p))[1])
        f(jnp.ones(3), jnp.full((3, 2), 0.5))
        f(jnp.ones(3) * 2, jnp.full((3, 2), 0.5))
    assert len(traces) == 1
