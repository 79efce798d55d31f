"""GAE and λ-returns: a Python reference loop, the λ = 0 / λ = 1 limits, truncation, jit/vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from policyopt.estimators import batched_gae, gae, lambda_returns

T = 12
gae_jit = jax.jit(gae)


def reference_gae(
    r: np.ndarray,
    v: np.ndarray,
    v_next: np.ndarray,
    term: np.ndarray,
    done: np.ndarray,
    gamma: float,
    lam: float,
) -> np.ndarray:
    """The textbook backward loop, float64."""
    adv = np.zeros(len(r))
    next_adv = 0.0
    for t in reversed(range(len(r))):
        delta = r[t] + gamma * (1.0 - term[t]) * v_next[t] - v[t]
        next_adv = delta + gamma * lam * (1.0 - done[t]) * next_adv
        adv[t] = next_adv
    return adv


def discounted_returns(
    r: np.ndarray, v_next: np.ndarray, term: np.ndarray, done: np.ndarray, gamma: float
) -> np.ndarray:
    """Monte-Carlo returns per episode segment, bootstrapping at truncations and at the end."""
    ret = np.zeros(len(r))
    g = 0.0
    for t in reversed(range(len(r))):
        if done[t] or t == len(r) - 1:
            g = 0.0 if term[t] else v_next[t]
        g = r[t] + gamma * g
        ret[t] = g
    return ret


@st.composite
def trajectories(draw: st.DrawFn, consistent: bool = True) -> dict[str, np.ndarray]:
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    term = rng.random(T) < draw(st.floats(0.0, 0.4))
    trunc = (rng.random(T) < draw(st.floats(0.0, 0.4))) & ~term
    done = term | trunc
    v_t = rng.normal(size=T).astype(np.float32)
    # Within an episode the next observation is the next row's: v_tp1[t] = v_t[t + 1]. At an
    # episode end (and the rollout's last row) it is the final observation's own value.
    v_tp1 = np.where(done, rng.normal(size=T), np.append(v_t[1:], rng.normal()))
    if not consistent:  # arbitrary arrays: gae is a formula, it must not rely on the above
        v_tp1 = rng.normal(size=T)
    return {
        "r_t": rng.normal(size=T).astype(np.float32),
        "v_t": v_t,
        "v_tp1": v_tp1.astype(np.float32),
        "terminated_t": term,
        "done_t": done,
    }


@given(trajectories(consistent=False), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_gae_matches_python_loop(traj: dict[str, np.ndarray], gamma: float, lam: float) -> None:
    ref = reference_gae(*(traj[k].astype(np.float64) for k in traj), gamma, lam)
    out = gae_jit(**{k: jnp.asarray(v) for k, v in traj.items()}, gamma=gamma, lam=lam)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)


@given(trajectories(), st.floats(0.5, 1.0))
def test_lambda_one_is_monte_carlo_minus_values(traj: dict[str, np.ndarray], gamma: float) -> None:
    args = [jnp.asarray(v) for v in traj.values()]
    adv = gae_jit(*args, gamma=gamma, lam=1.0)
    mc = discounted_returns(traj["r_t"], traj["v_tp1"], traj["terminated_t"], traj["done_t"], gamma)
    np.testing.assert_allclose(adv, mc - traj["v_t"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        lambda_returns(*args, gamma=gamma, lam=1.0), mc, rtol=1e-4, atol=1e-4
    )


@given(trajectories(), st.floats(0.0, 1.0))
def test_lambda_zero_is_td_error(traj: dict[str, np.ndarray], gamma: float) -> None:
    adv = gae_jit(*(jnp.asarray(v) for v in traj.values()), gamma=gamma, lam=0.0)
    td = traj["r_t"] + gamma * (1.0 - traj["terminated_t"]) * traj["v_tp1"] - traj["v_t"]
    np.testing.assert_allclose(adv, td, rtol=1e-5, atol=1e-5)


def test_truncation_bootstraps_termination_does_not() -> None:
    # Two one-step episodes: step 0 truncated (time limit), step 1 terminated.
    r = jnp.array([1.0, 1.0])
    v = jnp.array([0.0, 0.0])
    v_tp1 = jnp.array([10.0, 10.0])
    term = jnp.array([False, True])
    done = jnp.array([True, True])
    adv = gae(r, v, v_tp1, term, done, 0.9, 0.95)
    np.testing.assert_allclose(adv, [1.0 + 0.9 * 10.0, 1.0])
    # A step that is neither continues the recursion into the next step.
    adv = gae(r, v, jnp.array([0.0, 10.0]), term, jnp.array([False, True]), 0.9, 0.5)
    np.testing.assert_allclose(adv, [1.0 + 0.9 * 0.5 * 1.0, 1.0])
    # The last row of a rollout (neither flag) bootstraps from v_tp1.
    adv = gae(r[:1], v[:1], v_tp1[:1], term[:1], jnp.array([False]), 0.9, 0.95)
    np.testing.assert_allclose(adv, [10.0])
    np.testing.assert_allclose(lambda_returns(r, v + 2.0, v_tp1, term, done, 0.9, 0.95)[1], 1.0)


def test_batched_and_vmap_over_hyperparameters() -> None:
    rng = np.random.default_rng(3)
    n_env = 4
    r, v, v_tp1 = (jnp.asarray(rng.normal(size=(T, n_env)), jnp.float32) for _ in range(3))
    term = jnp.asarray(rng.random((T, n_env)) < 0.2)
    done = term | jnp.asarray(rng.random((T, n_env)) < 0.2)
    out = jax.jit(batched_gae)(r, v, v_tp1, term, done, 0.99, 0.95)
    assert out.shape == (T, n_env)
    for j in range(n_env):
        ref = reference_gae(
            *(np.asarray(x[:, j], np.float64) for x in (r, v, v_tp1, term, done)), 0.99, 0.95
        )
        np.testing.assert_allclose(out[:, j], ref, rtol=1e-4, atol=1e-5)
    # vmap over traced gamma and lam: one program, a sweep of hyperparameters
    gammas, lams = jnp.array([0.9, 0.99]), jnp.array([0.0, 1.0])
    swept = jax.jit(jax.vmap(batched_gae, in_axes=(None,) * 5 + (0, 0)))(
        r, v, v_tp1, term, done, gammas, lams
    )
    for i in range(2):
        np.testing.assert_allclose(
            swept[i],
            batched_gae(r, v, v_tp1, term, done, float(gammas[i]), float(lams[i])),
            rtol=1e-5,
            atol=1e-5,
        )


def test_jit_does_not_recompile() -> None:
    traces = []

    def counted(*args: jax.Array) -> jax.Array:
        traces.append(1)  # runs only while tracing
        return lambda_returns(*args)

    f = jax.jit(counted)
    rng = np.random.default_rng(4)
    for gamma, lam in ((0.99, 0.95), (0.9, 0.5), (0.5, 1.0)):
        args = [jnp.asarray(rng.normal(size=T), jnp.float32) for _ in range(3)]
        flags = [jnp.asarray(rng.random(T) < 0.3) for _ in range(2)]
        out = f(*args, flags[0], flags[0] | flags[1], jnp.float32(gamma), jnp.float32(lam))
        ref = reference_gae(
            *(np.asarray(a, np.float64) for a in args),
            np.asarray(flags[0]),
            np.asarray(flags[0] | flags[1]),
            gamma,
            lam,
        )
        np.testing.assert_allclose(out, ref + np.asarray(args[1]), rtol=1e-4, atol=1e-4)
    assert len(traces) == 1
