"""Natural-gradient solvers: CG against a dense solve, the §4 step rules, the line search."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policyopt.solvers import (
    CGInfo,
    LineSearchInfo,
    backtracking_line_search,
    conjugate_gradient,
    step_size_fixed,
    step_size_trust_region,
)

Tree = dict[str, jax.Array]
N_A, N_B = 3, 4  # a pytree of two leaves: {"a": [3], "b": [2, 2]} — a 7-dimensional system


def random_spd(seed: int, n: int = N_A + N_B) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    return m @ m.T / n + 0.1 * np.eye(n)


def to_tree(x: jax.Array) -> Tree:
    return {"a": x[:N_A], "b": x[N_A:].reshape(2, 2)}


def to_flat(t: Tree) -> jax.Array:
    return jnp.concatenate([t["a"], t["b"].reshape(-1)])


def matvec_of(a: jax.Array, damping: float | jax.Array = 0.0) -> Callable[[Tree], Tree]:
    """A dense matrix seen only through a pytree matvec (how an FVP looks to CG)."""
    return lambda v: jax.tree.map(lambda x, y: x + damping * y, to_tree(a @ to_flat(v)), v)


# ------------------------------------------------------------------ conjugate gradient


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cg_equals_dense_solve(seed: int) -> None:
    damping = 0.05
    with jax.enable_x64(True):
        a = jnp.asarray(random_spd(seed))
        b = jnp.asarray(np.random.default_rng(seed + 10).normal(size=N_A + N_B))
        solve = jax.jit(conjugate_gradient, static_argnums=(0, 2))
        x, info = solve(matvec_of(a, damping), to_tree(b), 50, 1e-20)
        ref = jnp.linalg.solve(a + damping * jnp.eye(N_A + N_B), b)
        np.testing.assert_allclose(to_flat(x), ref, rtol=1e-8, atol=1e-10)
        assert isinstance(info, CGInfo)
        # exact arithmetic would need at most n iterations; allow a little round-off slack
        assert 1 <= int(info.iterations) <= N_A + N_B + 2
        assert float(info.residual) < 1e-20


def test_cg_stops_at_max_iters_and_at_tolerance() -> None:
    a = jnp.asarray(random_spd(5), jnp.float32)
    b = to_tree(jnp.ones(N_A + N_B))
    _, info = jax.jit(conjugate_gradient, static_argnums=(0, 2))(matvec_of(a), b, 2, 0.0)
    assert int(info.iterations) == 2
    # a zero right-hand side: no iteration, x = 0, no NaN
    zero = jax.tree.map(jnp.zeros_like, b)
    x, info = conjugate_gradient(matvec_of(a), zero, 10, 1e-10)
    assert int(info.iterations) == 0
    assert all(np.all(np.asarray(leaf) == 0) for leaf in jax.tree.leaves(x))


def test_cg_traced_tolerance_and_vmap() -> None:
    a = jnp.asarray(random_spd(6), jnp.float32)
    bs = jnp.asarray(np.random.default_rng(0).normal(size=(3, N_A + N_B)), jnp.float32)
    tols = jnp.array([1e-10, 1e-10, 1e3], jnp.float32)  # the last one stops immediately
    solve = jax.vmap(lambda b, tol: conjugate_gradient(matvec_of(a), to_tree(b), 20, tol))
    x, info = jax.jit(solve)(bs, tols)
    ref = np.linalg.solve(np.asarray(a, np.float64), np.asarray(bs[:2], np.float64).T).T
    np.testing.assert_allclose(jax.vmap(to_flat)(x)[:2], ref, rtol=2e-3, atol=2e-3)
    assert int(info.iterations[2]) == 0


# ------------------------------------------------------------------ step sizes


def test_trust_region_step_puts_quadratic_kl_at_delta() -> None:
    with jax.enable_x64(True):
        f = jnp.asarray(random_spd(7))
        g = to_tree(jnp.asarray(np.random.default_rng(1).normal(size=N_A + N_B)))
        d, _ = conjugate_gradient(matvec_of(f), g, 50, 1e-24)
        delta = 0.01
        s = jax.jit(step_size_trust_region)(g, d, delta)
        step = s * to_flat(d)
        np.testing.assert_allclose(0.5 * step @ f @ step, delta, rtol=1e-10)
        np.testing.assert_allclose(s, np.sqrt(2 * delta / (to_flat(g) @ to_flat(d))), rtol=1e-12)


def test_trust_region_step_is_finite_for_zero_or_negative_quadratic() -> None:
    zero = {"a": jnp.zeros(3)}
    s = step_size_trust_region(zero, zero, 0.01)
    assert np.isfinite(s)
    assert np.all(np.asarray(s * zero["a"]) == 0)
    s = step_size_trust_region({"a": jnp.ones(3)}, {"a": -jnp.ones(3)}, 0.01)
    assert np.isfinite(s)


def test_step_size_fixed() -> None:
    np.testing.assert_allclose(step_size_fixed(4.0), 0.25)
    np.testing.assert_allclose(jax.jit(step_size_fixed)(jnp.float32(2.0)), 0.5)
    np.testing.assert_allclose(jax.vmap(step_size_fixed)(jnp.array([1.0, 5.0])), [1.0, 0.2])


# ------------------------------------------------------------------ line search


class _Problem(NamedTuple):
    """A quadratic loss and a quadratic "KL" around θ_k = 0 in a two-leaf pytree."""

    curvature: jax.Array  # diagonal Hessian of the KL
    target: jax.Array  # minimiser of the loss


def _loss(prob: _Problem, p: Tree) -> jax.Array:
    return jnp.sum((to_flat(p) - prob.target) ** 2)


def _kl(prob: _Problem, p: Tree) -> jax.Array:
    x = to_flat(p)
    return 0.5 * jnp.sum(prob.curvature * x**2)


def _search(
    prob: _Problem,
    params_k: Tree,
    full_step: Tree,
    delta: jax.Array,
    coef: jax.Array,
) -> tuple[Tree, LineSearchInfo]:
    return backtracking_line_search(
        lambda p: _loss(prob, p),
        lambda p: _kl(prob, p),
        params_k,
        full_step,
        delta,
        jnp.float32(1.0),
        coef,
        10,
    )


search = jax.jit(_search)


@given(
    st.integers(0, 2**31 - 1),
    st.floats(1e-3, 1.0),
    st.floats(0.3, 0.9),
    st.floats(-2.0, 5.0),
)
def test_line_search_meets_constraint_or_keeps_theta_k(
    seed: int, delta: float, coef: float, scale: float
) -> None:
    rng = np.random.default_rng(seed)
    n = N_A + N_B
    prob = _Problem(
        jnp.asarray(rng.uniform(0.5, 2.0, n), jnp.float32),
        jnp.asarray(rng.normal(size=n), jnp.float32),
    )
    params_k = to_tree(jnp.zeros(n, jnp.float32))
    # a step along (a random distortion of) the descent direction, possibly far too long,
    # possibly uphill (scale < 0)
    direction = prob.target * jnp.asarray(rng.uniform(0.2, 1.5, n), jnp.float32)
    full_step = to_tree(scale * direction)
    new, info = search(prob, params_k, full_step, jnp.float32(delta), jnp.float32(coef))
    if bool(info.accepted):
        assert float(_kl(prob, new)) <= delta
        assert float(_loss(prob, new)) < float(_loss(prob, params_k))
        np.testing.assert_allclose(info.kl, _kl(prob, new), rtol=1e-6)
        np.testing.assert_allclose(info.step_fraction, coef ** int(info.backtracks), rtol=1e-5)
        np.testing.assert_allclose(
            to_flat(new), info.step_fraction * to_flat(full_step), rtol=1e-5, atol=1e-7
        )
        assert 0 <= int(info.backtracks) < 10
        assert float(info.actual_improve) > 0
        for j in range(int(info.backtracks)):  # it is the *first* acceptable trial
            trial = to_tree(coef**j * to_flat(full_step))
            assert float(_kl(prob, trial)) > delta or _loss(prob, trial) >= _loss(prob, params_k)
    else:
        for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(params_k), strict=True):
            np.testing.assert_array_equal(a, b)
        assert int(info.backtracks) == 10
        assert float(info.step_fraction) == 0.0
        assert float(info.actual_improve) == 0.0
    if scale <= 0:
        assert not bool(info.accepted)  # uphill: never accepted


def test_line_search_backtracks_when_full_step_too_large() -> None:
    n = N_A + N_B
    prob = _Problem(jnp.ones(n), jnp.ones(n))
    params_k = to_tree(jnp.zeros(n))
    full_step = to_tree(jnp.ones(n))  # KL = 3.5 at the full step; loss 0 (perfect)
    delta = 0.5 * n * 0.64**2 + 1e-4  # the second backtrack (α² = 0.64) just fits
    new, info = search(prob, params_k, full_step, jnp.float32(delta), jnp.float32(0.8))
    assert bool(info.accepted)
    assert int(info.backtracks) == 2
    np.testing.assert_allclose(info.step_fraction, 0.64, rtol=1e-6)
    np.testing.assert_allclose(to_flat(new), 0.64 * jnp.ones(n), rtol=1e-6)
    np.testing.assert_allclose(info.kl, 0.5 * n * 0.64**2, rtol=1e-5)
    np.testing.assert_allclose(info.actual_improve, n - n * 0.36**2, rtol=1e-5)
    np.testing.assert_allclose(info.expected_improve, 1.0)
    # the full step is accepted when the region is large enough
    _, info = search(prob, params_k, full_step, jnp.float32(10.0), jnp.float32(0.8))
    assert int(info.backtracks) == 0 and float(info.step_fraction) == 1.0


def test_line_search_rejects_and_vmaps() -> None:
    n = N_A + N_B
    prob = _Problem(jnp.ones(n), jnp.ones(n))
    params_k = to_tree(jnp.zeros(n))
    full_step = to_tree(jnp.ones(n))
    deltas = jnp.array([1e-6, 10.0], jnp.float32)  # too small for any of 10 trials; large
    new, info = jax.jit(jax.vmap(_search, in_axes=(None, None, None, 0, None)))(
        prob, params_k, full_step, deltas, jnp.float32(0.8)
    )
    np.testing.assert_array_equal(np.asarray(info.accepted), [False, True])
    np.testing.assert_array_equal(np.asarray(info.backtracks), [10, 0])
    np.testing.assert_array_equal(to_flat(jax.tree.map(lambda x: x[0], new)), np.zeros(n))
    np.testing.assert_allclose(info.kl[0], 0.0)


class _Pipeline(NamedTuple):
    params: Tree
    cg: CGInfo
    line_search: LineSearchInfo
    fixed_step: jax.Array


def test_no_recompilation() -> None:
    traces = []

    def solve_and_search(
        prob: _Problem, b: jax.Array, delta: jax.Array, tol: jax.Array
    ) -> _Pipeline:
        traces.append(1)  # runs only while tracing
        a = jnp.diag(prob.curvature)
        d, cg = conjugate_gradient(matvec_of(a, 0.01), to_tree(b), 10, tol)
        s = step_size_trust_region(to_tree(b), d, delta)
        full_step = jax.tree.map(lambda x: s * x, d)
        new, ls = _search(prob, to_tree(jnp.zeros_like(b)), full_step, delta, jnp.float32(0.8))
        return _Pipeline(new, cg, ls, step_size_fixed(delta))

    f = jax.jit(solve_and_search)
    n = N_A + N_B
    for seed in range(3):
        rng = np.random.default_rng(seed)
        prob = _Problem(
            jnp.asarray(rng.uniform(0.5, 2, n), jnp.float32),
            jnp.asarray(rng.normal(size=n), jnp.float32),
        )
        f(prob, prob.target, jnp.float32(0.01 * (seed + 1)), jnp.float32(1e-10))
    assert len(traces) == 1
