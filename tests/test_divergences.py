"""Divergences: FVP against the dense Fisher and the KL Hessian (float64), KL signs, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from jax.flatten_util import ravel_pytree

from policyopt.distributions import Categorical, DiagGaussian
from policyopt.divergences import euclidean, fisher_vector_product, kl_divergence

Params = dict[str, jax.Array]
OBS_DIM, HIDDEN, N_ACT, N_STATES = 3, 5, 4, 6


def init_mlp(key: jax.Array, out: int, gaussian: bool) -> Params:
    k1, k2, k3, k4 = jax.random.split(key, 4)
    params = {
        "w1": jax.random.normal(k1, (OBS_DIM, HIDDEN)) / np.sqrt(OBS_DIM),
        "b1": 0.1 * jax.random.normal(k2, (HIDDEN,)),
        "w2": jax.random.normal(k3, (HIDDEN, out)) / np.sqrt(HIDDEN),
        "b2": 0.1 * jax.random.normal(k4, (out,)),
    }
    if gaussian:
        params["log_std"] = jnp.linspace(-0.5, 0.3, out)
    return params


def mlp(params: Params, obs: jax.Array) -> jax.Array:
    return jnp.tanh(obs @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]


def categorical_policy(params: Params, obs: jax.Array) -> Categorical:
    return Categorical(mlp(params, obs))


def gaussian_policy(params: Params, obs: jax.Array) -> DiagGaussian:
    return DiagGaussian(mlp(params, obs), params["log_std"])


def make_kl_fn(
    policy: Callable[[Params, jax.Array], Categorical | DiagGaussian],
    params_k: Params,
    obs: jax.Array,
) -> Callable[[Params], jax.Array]:
    dist_k = jax.tree.map(jax.lax.stop_gradient, policy(params_k, obs))
    return lambda p: kl_divergence(dist_k, policy(p, obs), "forward")


def setup(gaussian: bool) -> tuple[Params, jax.Array, Params]:
    key = jax.random.PRNGKey(1 if gaussian else 0)
    k_p, k_o, k_v = jax.random.split(key, 3)
    params = init_mlp(k_p, 2 if gaussian else N_ACT, gaussian)
    obs = jax.random.normal(k_o, (N_STATES, OBS_DIM))
    flat, unravel = ravel_pytree(params)
    v = unravel(jax.random.normal(k_v, flat.shape))
    return params, obs, v


def dense_fisher_categorical(params: Params, obs: jax.Array) -> jax.Array:
    """F = E_s Σ_a π(a|s) ∇log π(a|s) ∇log π(a|s)ᵀ, enumerating every action exactly."""
    flat, unravel = ravel_pytree(params)

    def logp(f: jax.Array) -> jax.Array:  # [S, A]
        return categorical_policy(unravel(f), obs).log_probs

    jac = jax.jacobian(logp)(flat)  # [S, A, P]
    probs = jnp.exp(logp(flat))
    return jnp.einsum("sa,sap,saq->pq", probs, jac, jac) / obs.shape[0]


def dense_fisher_gaussian(params: Params, obs: jax.Array) -> jax.Array:
    """Closed form for a diagonal Gaussian: E_s[J_μᵀ diag(σ⁻²) J_μ + 2 J_ρᵀ J_ρ], ρ = log σ."""
    flat, unravel = ravel_pytree(params)

    def mean_and_log_std(f: jax.Array) -> tuple[jax.Array, jax.Array]:
        d = gaussian_policy(unravel(f), obs)
        return d.mean, jnp.broadcast_to(d.log_std, d.mean.shape)

    j_mu, j_rho = jax.jacobian(mean_and_log_std)(flat)  # [S, D, P] each
    _, rho = mean_and_log_std(flat)
    inv_var = jnp.exp(-2 * rho)
    f_mu = jnp.einsum("sd,sdp,sdq->pq", inv_var, j_mu, j_mu)
    f_rho = 2.0 * jnp.einsum("sdp,sdq->pq", j_rho, j_rho)
    return (f_mu + f_rho) / obs.shape[0]


class _Oracle(NamedTuple):
    fvp_damped: jax.Array
    fvp: jax.Array
    dense_fisher: jax.Array
    kl_hessian: jax.Array
    v: jax.Array


@pytest.mark.parametrize("gaussian", [False, True], ids=["categorical", "gaussian"])
def test_fvp_equals_dense_fisher_and_kl_hessian(gaussian: bool) -> None:
    damping = 0.1
    policy = gaussian_policy if gaussian else categorical_policy
    dense_fisher = dense_fisher_gaussian if gaussian else dense_fisher_categorical

    @jax.jit  # one compiled program instead of hundreds of eager float64 ops
    def oracle(params: Params, obs: jax.Array, v: Params) -> _Oracle:
        kl_fn = make_kl_fn(policy, params, obs)
        flat, unravel = ravel_pytree(params)
        return _Oracle(
            fvp_damped=ravel_pytree(fisher_vector_product(kl_fn, params, damping)(v))[0],
            fvp=ravel_pytree(fisher_vector_product(kl_fn, params)(v))[0],
            dense_fisher=dense_fisher(params, obs),
            kl_hessian=jax.hessian(lambda f: kl_fn(unravel(f)))(flat),
            v=ravel_pytree(v)[0],
        )

    with jax.enable_x64(True):
        o = oracle(*setup(gaussian))
        assert o.v.dtype == jnp.float64
        f, v = np.asarray(o.dense_fisher), np.asarray(o.v)
        np.testing.assert_allclose(o.fvp_damped, f @ v + damping * v, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(o.kl_hessian, f, rtol=1e-9, atol=1e-12)  # ∇²KL(θ_k) = F
        np.testing.assert_allclose(o.fvp, np.asarray(o.kl_hessian) @ v, rtol=1e-9, atol=1e-12)


def test_fvp_under_jit_and_vmap() -> None:
    params, obs, v = setup(False)

    def fvp(p: Params, vec: Params, damping: jax.Array) -> Params:
        return fisher_vector_product(make_kl_fn(categorical_policy, p, obs), p, damping)(vec)

    jitted = jax.jit(fvp)(params, v, jnp.float32(0.01))
    vs = jax.tree.map(lambda x: jnp.stack([x, 2 * x]), v)
    mapped = jax.jit(jax.vmap(fvp, in_axes=(None, 0, None)))(params, vs, jnp.float32(0.01))
    for a, c in zip(jax.tree.leaves(jitted), jax.tree.leaves(mapped), strict=True):
        assert a.dtype == jnp.float32
        np.testing.assert_allclose(a, c[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(2 * a, c[1], rtol=1e-5, atol=1e-6)  # linear in v


LOGITS = arrays(np.float32, (4, 3), elements=st.floats(-4, 4, width=32))


@given(LOGITS, LOGITS, st.sampled_from(["forward", "reverse"]))
def test_kl_both_directions_nonnegative(a: np.ndarray, b: np.ndarray, direction: str) -> None:
    p, q = Categorical(jnp.asarray(a)), Categorical(jnp.asarray(b))
    assert kl_divergence(p, q, direction) >= -1e-6
    np.testing.assert_allclose(kl_divergence(p, p, direction), 0.0, atol=1e-6)
    g_p = DiagGaussian(jnp.asarray(a), jnp.asarray(b) / 4)
    g_q = DiagGaussian(jnp.asarray(b), jnp.asarray(a) / 4)
    assert kl_divergence(g_p, g_q, direction) >= 0.0
    assert kl_divergence(g_p, g_p, direction) == 0.0


def test_kl_directions_are_the_right_ones() -> None:
    p = Categorical(jnp.array([[0.0, 2.0, -1.0]]))
    q = Categorical(jnp.array([[1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(kl_divergence(p, q, "forward"), p.kl(q)[0])
    np.testing.assert_allclose(kl_divergence(p, q, "reverse"), q.kl(p)[0])
    assert not np.isclose(kl_divergence(p, q, "forward"), kl_divergence(p, q, "reverse"))
    out = jax.jit(kl_divergence, static_argnames="direction")(p, q, direction="reverse")
    np.testing.assert_allclose(out, q.kl(p)[0], rtol=1e-6)


def test_bad_direction_raises() -> None:
    p = Categorical(jnp.zeros((1, 2)))
    with pytest.raises(ValueError, match=r"direction.*forward.*reverse"):
        kl_divergence(p, p, "backward")


def test_euclidean() -> None:
    a = {"w": jnp.array([[1.0, 2.0]]), "b": jnp.array([3.0])}
    b = {"w": jnp.array([[0.0, 0.0]]), "b": jnp.array([1.0])}
    np.testing.assert_allclose(euclidean(a, b), 0.5 * (1 + 4 + 4))
    np.testing.assert_allclose(jax.jit(euclidean)(a, b), 4.5)
    assert euclidean(a, a) == 0.0
    grad = jax.grad(euclidean)(a, b)  # ∇ ½‖θ − θ_k‖² = θ − θ_k
    np.testing.assert_allclose(grad["w"], a["w"] - b["w"])
