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


@pytest.mark.parametrize("discrete", [True, False])
def test_kfac_direction_points_where_the_exact_one_does(discrete: bool) -> None:
    """K-FAC (kfac-jax) against the dense damped solve, on a categorical and a Gaussian policy.

    K-FAC is an approximation (Kronecker factors per layer, no cross-layer terms), so it is
    held to a cosine, not equality; its log-std block is exact (2·I).
    """
    pytest.importorskip("kfac_jax")
    from jax.flatten_util import ravel_pytree

    from policyopt.divergences import fisher_vector_product, kl_divergence
    from policyopt.nn import ActionSpec, make_networks
    from policyopt.solvers.kfac import kfac_direction

    spec = ActionSpec("discrete", 3) if discrete else ActionSpec("continuous", 2, (-1.0,) * 2,
                                                                  (1.0,) * 2)  # fmt: skip
    nets = make_networks(spec, hidden=(16, 16))
    obs = jax.random.normal(jax.random.PRNGKey(0), (256, 4 if discrete else 3))
    actor = nets.init_actor(jax.random.PRNGKey(1), obs[:1])
    g = jax.tree.map(lambda x: jax.random.normal(jax.random.PRNGKey(2), x.shape), actor)
    d = jax.jit(lambda a, o, g: kfac_direction(nets, a, o, g, 0.1, jax.random.PRNGKey(3)))(
        actor, obs, g
    )
    dist_k = jax.tree.map(jax.lax.stop_gradient, nets.policy(actor, obs))
    fvp = fisher_vector_product(lambda p: kl_divergence(dist_k, nets.policy(p, obs)), actor)
    exact = natural_direction("dense", fvp, g, 0.1, 1, 0.0).d
    a, b = ravel_pytree(d)[0], ravel_pytree(exact)[0]
    assert float(a @ b / jnp.linalg.norm(a) / jnp.linalg.norm(b)) > 0.99
    if not discrete:
        want = g["params"]["log_std"] / 2.1
        np.testing.assert_allclose(d["params"]["log_std"], want, rtol=1e-6)
        np.testing.assert_allclose(exact["params"]["log_std"], want, rtol=1e-3)


def test_acktr_trains_seeds_under_vmap_and_a_missing_extra_is_named(monkeypatch) -> None:
    pytest.importorskip("kfac_jax")
    from policyopt.configs import make_config

    cfg = make_config("acktr", **TINY)
    out = jax.jit(jax.vmap(make_train(cfg)))(jax.random.split(jax.random.PRNGKey(0), 2))
    m = np.asarray(out.metrics["train/step_size"])
    assert m.shape == (2, cfg.num_updates) and np.all(np.isfinite(m))
    assert np.all(m <= cfg.max_step * (1 + 1e-6))  # ACKTR's cap η_max
    import policyopt.configs as configs

    monkeypatch.setattr(configs, "kfac_available", lambda: False)
    with pytest.raises(ConfigError, match=r"fisher_solver: .*pip install 'policyopt\[kfac\]'"):
        make_config("acktr", **TINY)


def test_exact_level_shows_each_approximation_against_the_closed_form() -> None:
    """At the exact level the deep solvers run on the whole table: with enough products they
    reach the damped solve, with few their truncation error is visible (and still descends)."""
    from policyopt import tabular as T
    from policyopt.tabular.algorithms import natural_direction as table_direction
    from policyopt.tabular.exact import fisher_blocks, gradient_from_q, softmax

    mdp = T.garnet(15, 4, 3, gamma=0.9, seed=3)
    with jax.enable_x64(True):
        theta = jnp.asarray(np.random.default_rng(0).normal(size=(15, 4)))
        ev = T.evaluate(mdp, T.softmax_np(np.asarray(theta)))
        pi = softmax(theta)
        blocks, g = fisher_blocks(ev.rho, pi), gradient_from_q(ev.rho, pi, ev.Q)
        dense = table_direction(blocks, g, ev.A, "dense", 1e-3)
        for solver in ("cg", "krylov"):
            full = table_direction(blocks, g, ev.A, solver, 1e-3, 60)
            np.testing.assert_allclose(full, dense, rtol=1e-6, atol=1e-9, err_msg=solver)
            short = table_direction(blocks, g, ev.A, solver, 1e-3, 2)
            assert np.linalg.norm(short - dense) > 1e-3 * np.linalg.norm(dense)
    for solver in ("cg", "krylov"):
        h = T.run(mdp, T.NPG(fisher_solver=solver, damping=1e-3, cg_iters=5), 30)
        assert np.all(np.diff(h.f) <= 1e-12) and h.f[-1] < h.f[0]
    with pytest.raises(ConfigError, match=r"NPG\.damping: must be > 0 with fisher_solver='cg'"):
        T.NPG(fisher_solver="cg", damping=0.0)


def test_direction_error_against_dense_is_logged_every_n_updates_also_under_vmap() -> None:
    from policyopt.configs import make_config

    cfg = make_config("trpo", fisher_solver="cg", cg_iters=2, direction_check_every=2,
                      **{**TINY, "total_timesteps": 64 * 4})  # fmt: skip
    out = jax.jit(jax.vmap(make_train(cfg)))(jax.random.split(jax.random.PRNGKey(0), 2))
    cos = np.asarray(out.metrics["train/direction_cosine"])
    rel = np.asarray(out.metrics["train/direction_rel_error"])
    assert cos.shape == (2, 4)
    assert np.all(np.isfinite(cos[:, ::2])) and np.all(np.isnan(cos[:, 1::2]))
    assert np.all((cos[:, ::2] > 0) & (cos[:, ::2] <= 1 + 1e-5)) and np.all(rel[:, ::2] > 0)
    exact = make_config("trpo", fisher_solver="krylov", cg_iters=200, direction_check_every=1,
                        **{**TINY, "total_timesteps": 64 * 2})  # fmt: skip
    out = jax.jit(make_train(exact))(jax.random.PRNGKey(0))
    np.testing.assert_allclose(out.metrics["train/direction_cosine"], 1.0, atol=1e-4)
