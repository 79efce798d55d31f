"""The natural-direction solvers (§8.1): each against the dense solve, and inside a recipe."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policyopt.configs import compose
from policyopt.errors import ConfigError
from policyopt.solvers.directions import (
    DENSE_MAX_PARAMS,
    adapt_damping,
    dense_fisher,
    natural_direction,
)
from policyopt.train import make_train


def _problem(seed: int, n: int, rank: int | None = None):
    rng = np.random.default_rng(seed)
    j = rng.normal(size=(rank or n, n))
    a = j.T @ j / n  # PSD, singular when rank < n (like a Fisher of an over-parameterised net)
    g = rng.normal(size=n)
    split = n // 3
    tree = {"a": jnp.asarray(g[:split]), "b": jnp.asarray(g[split:])}

    def fisher(v):
        flat = jnp.concatenate([v["a"], v["b"]])
        out = jnp.asarray(a) @ flat
        return {"a": out[:split], "b": out[split:]}

    return a, g, tree, fisher


def _flat(tree) -> np.ndarray:
    return np.concatenate([np.asarray(tree["a"]), np.asarray(tree["b"])])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 24), damping=st.sampled_from([1e-3, 0.1]))
def test_every_solver_at_full_budget_is_the_damped_solve(seed: int, n: int, damping: float):
    with jax.enable_x64(True):
        a, g, tree, fisher = _problem(seed, n)
        want = np.linalg.solve(a + damping * np.eye(n), g)
        for solver in ("dense", "krylov", "cg", "hessian_free"):
            got = natural_direction(solver, fisher, tree, damping, 4 * n, 1e-30)
            np.testing.assert_allclose(_flat(got.d), want, rtol=1e-6, atol=1e-8, err_msg=solver)


def test_krylov_of_size_k_is_cg_after_k_iterations() -> None:
    """Both minimise the quadratic over span{g, …, A^{k−1}g}: the Pascanu–Bengio equivalence."""
    with jax.enable_x64(True):
        _, _, tree, fisher = _problem(3, 40)
        for k in (1, 3, 8):
            cg = natural_direction("cg", fisher, tree, 0.05, k, 0.0)
            kr = natural_direction("krylov", fisher, tree, 0.05, k, 0.0)
            np.testing.assert_allclose(_flat(kr.d), _flat(cg.d), rtol=1e-7, atol=1e-9)


def test_dense_is_the_pseudo_inverse_when_f_is_singular() -> None:
    with jax.enable_x64(True):
        a, g, tree, fisher = _problem(5, 12, rank=4)
        got = natural_direction("dense", fisher, tree, 0.0, 1, 0.0)
        np.testing.assert_allclose(_flat(got.d), np.linalg.pinv(a) @ g, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(np.asarray(dense_fisher(fisher, tree)), a, atol=1e-12)


def test_dense_is_refused_above_its_parameter_limit_naming_the_count() -> None:
    n = DENSE_MAX_PARAMS + 1
    tree = {"w": jnp.zeros(n)}
    with pytest.raises(ConfigError, match=rf"fisher_solver: 'dense' .*{n}².*cg, krylov"):
        natural_direction("dense", lambda v: v, tree, 0.1, 1, 0.0)


def test_levenberg_marquardt_rule() -> None:
    lam = jnp.float32(0.1)
    np.testing.assert_allclose(adapt_damping(lam, 0.1, 1.0), 0.15, rtol=1e-6)  # ρ = 0.1
    np.testing.assert_allclose(adapt_damping(lam, 0.9, 1.0), 0.1 / 1.5, rtol=1e-6)
    np.testing.assert_allclose(adapt_damping(lam, 0.5, 1.0), 0.1)
    np.testing.assert_allclose(adapt_damping(lam, 0.5, 0.0), 0.1)  # nothing predicted: kept


TINY = {
    "env_id": "CartPole-v1",
    "total_timesteps": 256,
    "num_envs": 2,
    "num_steps": 32,
    "hidden_sizes": (8,),
    "eval_episodes": 1,
    "vf_batch_size": 32,
    "vf_epochs": 1,
}


@pytest.mark.parametrize("solver", ["dense", "krylov", "hessian_free"])
def test_each_solver_trains_a_natural_composition_under_jit(solver: str) -> None:
    cfg = compose("ratio", "kl_forward:constraint", "natural_linesearch", fisher_solver=solver,
                  cg_iters=8, **TINY)  # fmt: skip
    out = jax.jit(make_train(cfg))(jax.random.PRNGKey(0))
    m = {k: np.asarray(v) for k, v in out.metrics.items()}
    assert np.all(np.isfinite(m["train/kl_forward"])) and np.all(m["train/kl_forward"] <= 0.0101)
    assert np.all(m["train/accepted"])
    if solver == "hessian_free":  # λ is adapted across updates, not fixed
        assert len(set(np.round(m["train/damping"], 8))) > 1, m["train/damping"]
    else:
        np.testing.assert_allclose(m["train/damping"], cfg.damping, rtol=1e-6)
