"""Exact update rules against closed forms and theory bounds (cost convention)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyopt import tabular as T
from policyopt.errors import ConfigError


def _random_policy_theta(mdp: T.TabularMDP, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(mdp.n_states, mdp.n_actions))


@given(seed=st.integers(0, 10_000), eta=st.floats(0.01, 5.0), measure=st.sampled_from(["rho", "d"]))
def test_npg_solve_step_equals_closed_form(seed: int, eta: float, measure: str) -> None:
    """θ − η (F+εI)⁻¹∇f gives π ∝ π_k exp(−η A) (seed's F) / exp(−η A/(1−γ)) (Agarwal's F_d)."""
    mdp = T.garnet(8, 3, 3, gamma=0.9, seed=seed)
    theta = _random_policy_theta(mdp, seed)
    alg = T.NPG(step_rule="fixed", lam=1.0 / eta, fisher_measure=measure, damping=1e-12)
    ev = T.evaluate(mdp, T.softmax_np(theta))
    state, info = alg.step(mdp, alg.init(mdp, theta), 0, ev)
    closed = T.npg_closed_form(T.softmax_np(theta), ev.A, eta, mdp.gamma, measure)
    np.testing.assert_allclose(T.softmax_np(state.theta), closed, atol=1e-8)
    assert info.step_size == pytest.approx(eta)


@settings(max_examples=10)
@given(seed=st.integers(0, 10_000), eta=st.sampled_from([0.1, 1.0, 10.0]))
def test_npg_suboptimality_under_agarwal_bound(seed: int, eta: float) -> None:
    """Agarwal, Kakade, Lee, Mahajan (JMLR 2021), Theorem 16 (softmax NPG).

    Rewards r ∈ [0, 1], θ⁽⁰⁾ = 0, update θ ← θ + η F_d^† ∇V (F_d: Fisher under d = (1−γ)ρ):
        V*(μ) − V⁽ᵀ⁾(μ) ≤ log|A|/(ηT) + 1/((1−γ)² T)   for all T ≥ 1.
    Our Garnet costs c = 1 − r ∈ [0, 1] give the same iterates and the same gap in cost form.
    """
    mdp = T.garnet(15, 4, 3, gamma=0.9, seed=seed)
    hist = T.run(mdp, T.NPG(step_rule="fixed", lam=1.0 / eta, fisher_measure="d"), 60)
    t = np.arange(1, 61)
    bound = math.log(mdp.n_actions) / (eta * t) + 1.0 / ((1 - mdp.gamma) ** 2 * t)
    assert np.all(hist.gap[1:] <= bound + 1e-12)
    assert hist.gap[-1] < hist.gap[0]


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), delta=st.sampled_from([0.005, 0.05, 0.5]))
def test_trpo_accepted_steps_meet_constraint_and_never_increase_cost(
    seed: int, delta: float
) -> None:
    """Every accepted step: KL^ρ ≤ δ, f does not increase, and Schulman et al. (2015) Thm 1.

    Theorem 1 (cost form): f(π̃) ≤ L_π(π̃) + C·KL^max(π, π̃), C = 4εγ/(1−γ)², ε = max|A_π|,
    with L_π(π̃) = f(π) + Σ_s ρ_π(s) Σ_a π̃(a|s) A_π(s,a).
    """
    mdp = T.garnet(10, 3, 3, gamma=0.9, seed=seed)
    alg = T.TRPO(delta=delta)
    state = alg.init(mdp, _random_policy_theta(mdp, seed))
    accepted = 0
    for k in range(25):
        pi_k = T.softmax_np(state.theta)
        ev = T.evaluate(mdp, pi_k)
        state, info = alg.step(mdp, state, k, ev)
        pi = T.softmax_np(state.theta)
        ev_new = T.evaluate(mdp, pi)
        if not info.accepted:
            np.testing.assert_array_equal(pi, pi_k)
            continue
        accepted += 1
        with jax.enable_x64(True):
            kl = float(T.kl_rho(jnp.asarray(ev.rho), jnp.asarray(pi_k), jnp.asarray(pi)))
            kl_max = float(T.kl_max(jnp.asarray(pi_k), jnp.asarray(pi)))
        assert kl <= delta * (1 + 1e-9)
        assert info.kl == pytest.approx(kl, rel=1e-9)
        assert ev_new.f <= ev.f + 1e-12
        C = 4 * np.abs(ev.A).max() * mdp.gamma / (1 - mdp.gamma) ** 2
        L = ev.f + ev.rho @ (pi * ev.A).sum(1)
        assert ev_new.f <= L + C * kl_max + 1e-10
    assert accepted > 0


def test_trpo_keeps_theta_when_no_step_is_accepted() -> None:
    mdp = T.chain(5)
    opt = T.optimal(mdp)
    theta = np.log(np.clip(np.asarray(opt.pi), 1e-300, None))
    theta = np.maximum(theta, -50.0)
    alg = T.TRPO(delta=0.01)
    ev = T.evaluate(mdp, T.softmax_np(theta))
    state, info = alg.step(mdp, alg.init(mdp, theta), 0, ev)
    assert not info.accepted and info.backtracks == alg.max_backtracks
    np.testing.assert_array_equal(state.theta, theta)


def test_mdpo_step_satisfies_mirror_descent_optimality() -> None:
    """argmin_π ⟨π, A⟩ + KL(π‖π_k)/t on the simplex ⇔ A + (log π/π_k)/t is constant over a."""
    mdp = T.garnet(6, 4, 3, seed=1)
    theta = _random_policy_theta(mdp, 1)
    ev = T.evaluate(mdp, T.softmax_np(theta))
    for t in (0.3, 3.0):
        state, _ = T.MDPO(t=t, schedule="constant").step(mdp, T.AlgoState(theta), 0, ev)
        kkt = ev.A + (np.log(T.softmax_np(state.theta)) - np.log(T.softmax_np(theta))) / t
        assert np.all(kkt.max(1) - kkt.min(1) < 1e-9)


def test_mdpo_geometric_step_converges_linearly() -> None:
    """Xiao (2022), Thm 10: η_{k+1} = η_k/γ gives f − f* ≤ γ^k (f(π₀) − f* + const)."""
    mdp = T.garnet(20, 4, 3, gamma=0.8, seed=2)
    hist = T.run(mdp, T.MDPO(t=1.0, schedule="geometric"), 60)
    assert hist.gap[60] < 1e-10
    assert np.all(np.diff(hist.gap) <= 1e-12)  # policy mirror descent is monotone


def test_ppo_kl_beta_follows_the_doubling_rule() -> None:
    mdp = T.garnet(10, 3, 3, seed=4)
    alg = T.PPOKL(target_kl=0.003, beta_init=1.0, lr=0.05)
    hist = T.run(mdp, alg, 30)
    beta_prev = alg.beta_init
    for kl_d, beta in zip(hist.extra["kl_d"][1:], hist.extra["beta"][1:], strict=True):
        expected = (
            beta_prev / 2
            if kl_d < alg.target_kl / 1.5
            else beta_prev * 2
            if kl_d > 1.5 * alg.target_kl
            else beta_prev
        )
        assert beta == expected
        beta_prev = beta
    assert hist.gap[-1] < hist.gap[0]


def test_ppo_clip_surrogate_gradient_at_theta_k_is_the_policy_gradient() -> None:
    """At θ_k every surrogate has gradient (1−γ)∇f (expectation under d = (1−γ)ρ)."""
    from policyopt.tabular.algorithms import clipped_surrogate, kl_penalised_surrogate

    mdp = T.garnet(7, 3, 3, seed=5)
    theta = _random_policy_theta(mdp, 5)
    ev = T.evaluate(mdp, T.softmax_np(theta))
    g = T.policy_gradient(mdp, theta)
    with jax.enable_x64(True):
        data = {
            "pi_k": jnp.asarray(T.softmax_np(theta)),
            "A": jnp.asarray(ev.A),
            "d": (1 - mdp.gamma) * jnp.asarray(ev.rho),
            "clip_eps": 0.2,
            "beta": 3.0,
        }
        for loss in (clipped_surrogate, kl_penalised_surrogate):
            grad = np.asarray(jax.grad(loss)(jnp.asarray(theta), data))
            np.testing.assert_allclose(grad, (1 - mdp.gamma) * g, atol=1e-12)


def test_adaptive_trpo_regularised_converges_to_soft_optimum() -> None:
    """Shani et al. (2019): t_k = 1/(λ(k+2)) reaches the regularised optimum at rate Õ(1/k)."""
    mdp, lam = T.garnet(10, 3, 3, gamma=0.9, seed=6), 0.1
    f_reg_star = float(T.soft_optimal(mdp, lam).f)
    hist = T.run(mdp, T.AdaptiveTRPO(lam=lam, step_scale=1.0), 200)
    gaps = hist.extra["f_regularised"][1:] - f_reg_star
    assert np.all(gaps > -1e-10)
    assert gaps[-1] < 2e-3 and gaps[-1] < gaps[10] / 5
    assert hist.step_size[1] == pytest.approx(1 / (lam * 2))


def test_adaptive_trpo_unregularised_schedule() -> None:
    mdp = T.garnet(5, 2, 2, gamma=0.9, seed=0)
    alg = T.AdaptiveTRPO(step_scale=1.0)
    c_max = np.abs(mdp.cost).max()
    assert alg.step_size(3, mdp) == pytest.approx((1 - 0.9) / (c_max * 2.0))


# Stated budgets: iterations each algorithm (library defaults) needs on FrozenLake-v1
# (slippery, γ = 0.95, uniform start policy) to get f − f* < 1e-3.
FROZENLAKE_BUDGET = {
    "pg": 120,
    "npg": 90,
    "trpo": 40,
    "ppo": 20,
    "ppo_kl": 40,
    "mdpo": 90,
    "adaptive_trpo": 20,
}


@pytest.mark.parametrize("name", list(T.ALGORITHMS))
def test_every_algorithm_solves_frozenlake_within_budget(name: str) -> None:
    mdp = T.frozenlake()
    hist = T.run(mdp, T.make_algorithm(name), FROZENLAKE_BUDGET[name])
    assert hist.iterations_to(1e-3) is not None, hist.gap[-5:]


def test_chain_shows_pg_plateau_that_npg_escapes() -> None:
    """Softmax PG stalls at the chain's local optimum while NPG reaches f* (cf. Li et al. 2021)."""
    mdp = T.chain(10)
    pg = T.run(mdp, T.PG(), 300)
    npg = T.run(mdp, T.NPG(), 30)
    assert pg.gap[-1] > 1.0
    assert npg.gap[-1] < 1e-9


def test_bad_hyperparameters_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"TRPO\.delta: must be in \(0, inf\), got -1"):
        T.TRPO(delta=-1)
    with pytest.raises(
        ConfigError, match=r"NPG\.step_rule: got 'trust'; allowed: trust_region, fixed"
    ):
        T.NPG(step_rule="trust")
    with pytest.raises(ConfigError, match=r"PPOClip\.clip_eps"):
        T.PPOClip(clip_eps=1.5)
    with pytest.raises(ConfigError, match=r"unknown 'ppo_k'.*did you mean 'ppo_kl'"):
        T.make_algorithm("ppo_k")
    with pytest.raises(ConfigError, match=r"TRPO\.detla: unknown field; valid: delta"):
        T.make_algorithm("trpo", detla=0.1)
