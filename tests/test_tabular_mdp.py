"""MDP validation, built-in MDPs and the toy-text conversions."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policyopt import tabular as T
from policyopt.errors import ConfigError


def _valid(S: int = 3, A: int = 2) -> dict:
    P = np.full((S, A, S), 1.0 / S)
    return {"P": P, "cost": np.zeros((S, A)), "gamma": 0.9, "mu": np.full(S, 1.0 / S)}


@given(
    S=st.integers(1, 5),
    A=st.integers(1, 4),
    defect=st.sampled_from(["negative", "row_sum", "nan_P", "shape", "ndim"]),
    amount=st.floats(1e-6, 10.0),
)
def test_malformed_P_is_rejected_naming_the_field(
    S: int, A: int, defect: str, amount: float
) -> None:
    kw = _valid(S, A)
    P = kw["P"].copy()
    if defect == "negative":
        P[0, 0, 0] = -amount
    elif defect == "row_sum":
        P[0, 0, 0] += amount
    elif defect == "nan_P":
        P[0, 0, 0] = np.nan
    elif defect == "shape":
        P = np.full((S, A, S + 1), 1.0 / (S + 1))
    else:
        P = P[0]
    kw["P"] = P
    with pytest.raises(T.MDPValidationError, match=r"TabularMDP\.P:") as err:
        T.TabularMDP(**kw)
    assert err.value.field == "P"


@given(gamma=st.one_of(st.floats(max_value=0.0), st.floats(min_value=1.0), st.just(float("nan"))))
def test_gamma_outside_open_unit_interval_rejected(gamma: float) -> None:
    with pytest.raises(
        T.MDPValidationError, match=r"gamma: must lie in the open interval \(0, 1\)"
    ):
        T.TabularMDP(**{**_valid(), "gamma": gamma})


@given(bad=st.sampled_from(["negative", "sum", "shape", "inf"]))
def test_mu_must_be_a_distribution(bad: str) -> None:
    mu = {
        "negative": np.array([1.5, -0.5, 0.0]),
        "sum": np.array([0.5, 0.2, 0.2]),
        "shape": np.array([0.5, 0.5]),
        "inf": np.array([np.inf, 0, 0]),
    }[bad]
    with pytest.raises(T.MDPValidationError, match=r"TabularMDP\.mu:"):
        T.TabularMDP(**{**_valid(), "mu": mu})


@given(value=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_costs_must_be_finite(value: float) -> None:
    cost = np.zeros((3, 2))
    cost[1, 1] = value
    with pytest.raises(T.MDPValidationError, match=r"TabularMDP\.cost: must be finite"):
        T.TabularMDP(**{**_valid(), "cost": cost})
    with pytest.raises(T.MDPValidationError, match=r"TabularMDP\.reward: must be finite"):
        kw = _valid()
        T.TabularMDP.from_reward(kw["P"], cost, 0.9, kw["mu"])


def test_cost_shape_and_from_reward() -> None:
    with pytest.raises(T.MDPValidationError, match=r"cost: must have shape"):
        T.TabularMDP(**{**_valid(), "cost": np.zeros((2, 2))})
    kw = _valid()
    mdp = T.TabularMDP.from_reward(kw["P"], np.ones((3, 2)), 0.9, kw["mu"])
    np.testing.assert_array_equal(mdp.cost, -np.ones((3, 2)))
    assert not mdp.P.flags.writeable


@pytest.mark.parametrize("name", list(T.MDPS))
def test_builtin_mdps_are_valid(name: str) -> None:
    mdp = T.make_mdp(name)
    assert mdp.n_states >= 2 and mdp.n_actions >= 2
    assert np.isfinite(float(T.optimal(mdp).f))


def test_unknown_mdp_name_suggests() -> None:
    with pytest.raises(ConfigError, match=r"unknown 'frozenlak'.*did you mean 'frozenlake'"):
        T.make_mdp("frozenlak")


def test_frozenlake_exact_value_matches_gymnasium_rollouts() -> None:
    """The converted table gives the same discounted return as simulating Gymnasium itself."""
    gamma = 0.9
    mdp = T.frozenlake(gamma=gamma)
    pi = np.full((mdp.n_states, mdp.n_actions), 0.25)
    pi[:16] = T.softmax_np(np.random.default_rng(0).normal(size=(16, 4)))
    exact = -float(T.evaluate(mdp, pi).f)  # reward convention
    env = gym.make("FrozenLake-v1", is_slippery=True)
    rng = np.random.default_rng(1)
    returns = []
    for ep in range(4000):
        s, _ = env.reset(seed=ep)
        total, disc, done = 0.0, 1.0, False
        while not done:
            s, r, term, trunc, _ = env.step(int(rng.choice(4, p=pi[s])))
            total += disc * r
            disc *= gamma
            done = term or trunc
        returns.append(total)
    # TimeLimit truncation at 100 steps costs < γ^100 ≈ 3e-5; the rest is sampling error.
    se = np.std(returns) / np.sqrt(len(returns))
    assert abs(np.mean(returns) - exact) < 4 * se + 1e-4


def test_taxi_and_cliffwalking_shapes() -> None:
    assert (T.taxi().n_states, T.taxi().n_actions) == (501, 6)
    cw = T.cliffwalking()
    assert (cw.n_states, cw.n_actions) == (49, 4)
    assert cw.mu[36] == 1.0


@pytest.mark.parametrize("slip", [0.0, 0.1, 0.5])
def test_chain_rewards_follow_the_transition_taken(slip: float) -> None:
    """A slipped action pays the reward of the transition it made: "back" (to state 0) pays
    0.2, "forward" pays 1 in the last state and 0 elsewhere, whichever action was chosen."""
    n = 6
    mdp = T.chain(n, slip=slip)
    reward = -np.asarray(mdp.cost)
    for s in range(n):
        forward = 1.0 if s == n - 1 else 0.0
        for a, p_back in ((0, 1 - slip), (1, slip)):
            assert reward[s, a] == pytest.approx(p_back * 0.2 + (1 - p_back) * forward)
