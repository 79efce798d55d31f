"""Epochs × minibatches: equals a hand-written Adam loop, reduces the loss, KL early stop, jit."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from policyopt.solvers import FirstOrderResult, minibatch_epochs

N, D = 32, 3
N_EPOCHS, N_MINIBATCHES = 3, 4
Params = dict[str, jax.Array]


class Batch(NamedTuple):
    x: jax.Array
    y: jax.Array


def make_problem() -> tuple[Params, Batch]:
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(N, D)), jnp.float32)
    y = x @ jnp.array([1.0, -2.0, 0.5]) + 0.3 + 0.01 * jnp.asarray(rng.normal(size=N), jnp.float32)
    return {"w": jnp.zeros(D), "b": jnp.zeros(())}, Batch(x, y)


W0 = jnp.zeros(D)


def loss_fn(params: Params, mb: Batch) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Linear regression; "approx_kl" is a stand-in that grows as w leaves its start."""
    mse = jnp.mean((mb.x @ params["w"] + params["b"] - mb.y) ** 2)
    return mse, {"mse": mse, "approx_kl": jnp.sum((params["w"] - W0) ** 2)}


def full_loss(params: Params, batch: Batch) -> float:
    return float(loss_fn(params, batch)[0])


def make_optimizer() -> optax.GradientTransformation:
    return optax.chain(
        optax.clip_by_global_norm(1.0), optax.inject_hyperparams(optax.adam)(learning_rate=0.05)
    )


def python_loop(
    params: Params,
    batch: Batch,
    key: jax.Array,
    optimizer: optax.GradientTransformation,
    max_updates: int | None = None,
) -> tuple[Params, list[dict[str, float]]]:
    """The same Adam updates on the same permutations, one Python step at a time."""

    @jax.jit  # one compiled step; the loop itself stays in Python
    def step(
        params: Params, state: optax.OptState, minibatch: Batch
    ) -> tuple[tuple[Params, optax.OptState], dict[str, jax.Array]]:
        (_, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, minibatch)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), aux

    state = optimizer.init(params)
    auxes: list[dict[str, float]] = []
    mb = N // N_MINIBATCHES
    for k in jax.random.split(key, N_EPOCHS):
        perm = np.asarray(jax.random.permutation(k, N))
        for j in range(N_MINIBATCHES):
            if max_updates is not None and len(auxes) == max_updates:
                return params, auxes
            idx = perm[j * mb : (j + 1) * mb]
            minibatch = Batch(batch.x[idx], batch.y[idx])
            (params, state), aux = step(params, state, minibatch)
            auxes.append({k: float(v) for k, v in aux.items()})
    return params, auxes


def run(
    params: Params,
    batch: Batch,
    key: jax.Array,
    optimizer: optax.GradientTransformation,
    target_kl: float | jax.Array | None = None,
) -> FirstOrderResult:
    return minibatch_epochs(
        loss_fn,
        params,
        optimizer.init(params),
        optimizer,
        batch,
        key,
        N_EPOCHS,
        N_MINIBATCHES,
        target_kl,
    )


def assert_tree_close(a: Params, b: Params, tol: float = 1e-5) -> None:
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=tol, atol=tol)


JittedRun = tuple[Callable[..., FirstOrderResult], list[int]]


@pytest.fixture(scope="module")
def jitted_run() -> JittedRun:
    """One jitted solver shared by the tests, with a trace counter."""
    optimizer = make_optimizer()
    traces: list[int] = []

    def f(params: Params, batch: Batch, key: jax.Array, target_kl: jax.Array) -> FirstOrderResult:
        traces.append(1)  # runs only while tracing
        return run(params, batch, key, optimizer, target_kl)

    return jax.jit(f), traces


def test_matches_python_loop_and_reduces_loss(jitted_run: JittedRun) -> None:
    params, batch = make_problem()
    key = jax.random.PRNGKey(42)
    f, _ = jitted_run
    res = f(params, batch, key, jnp.float32(jnp.inf))
    ref_params, ref_aux = python_loop(params, batch, key, make_optimizer())
    assert_tree_close(res.params, ref_params)
    assert int(res.n_updates) == N_EPOCHS * N_MINIBATCHES
    assert not bool(res.stopped_early)
    np.testing.assert_allclose(res.metrics["mse"], np.mean([a["mse"] for a in ref_aux]), rtol=1e-5)
    assert full_loss(res.params, batch) < 0.5 * full_loss(params, batch)
    # no target (static None) is the same program minus the stop
    res_none = run(params, batch, key, make_optimizer(), None)
    assert_tree_close(res_none.params, ref_params)


def test_learning_rate_schedule() -> None:
    params, batch = make_problem()
    key = jax.random.PRNGKey(3)
    schedule = optax.linear_schedule(0.05, 0.0, N_EPOCHS * N_MINIBATCHES)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule))
    res = jax.jit(lambda p, k: run(p, batch, k, optimizer))(params, key)
    ref_params, _ = python_loop(params, batch, key, optimizer)
    assert_tree_close(res.params, ref_params)


def test_kl_early_stop_freezes_params(jitted_run: JittedRun) -> None:
    params, batch = make_problem()
    key = jax.random.PRNGKey(7)
    _, ref_aux = python_loop(params, batch, key, make_optimizer())
    kls = np.array([a["approx_kl"] for a in ref_aux])  # the "KL" before each update
    threshold = 0.5 * (kls[4] + kls[5])
    trigger = int(np.argmax(kls > threshold))  # the first update whose KL exceeds 1.5·target
    assert 0 < trigger < len(kls) - 1
    target_kl = float(threshold / 1.5)
    f, _ = jitted_run
    res = f(params, batch, key, jnp.float32(target_kl))
    assert bool(res.stopped_early)
    # like SB3, the update whose pre-update KL exceeds 1.5·target is not applied, nor any later
    assert int(res.n_updates) == trigger
    frozen, applied_aux = python_loop(params, batch, key, make_optimizer(), max_updates=trigger)
    assert_tree_close(res.params, frozen)
    np.testing.assert_allclose(
        res.metrics["mse"], np.mean([a["mse"] for a in applied_aux]), rtol=1e-5
    )


def test_early_stop_on_first_minibatch_changes_nothing() -> None:
    params, batch = make_problem()
    params = {**params, "w": jnp.ones(D)}  # approx_kl = 3 from the start
    optimizer = make_optimizer()
    opt_state = optimizer.init(params)
    res = jax.jit(lambda p, s, k: minibatch_epochs(loss_fn, p, s, optimizer, batch, k, 2, 2, 0.1))(
        params, opt_state, jax.random.PRNGKey(0)
    )
    assert int(res.n_updates) == 0 and bool(res.stopped_early)
    assert_tree_close(res.params, params, tol=0.0)
    assert_tree_close(res.opt_state, opt_state, tol=0.0)
    assert np.isfinite(res.metrics["mse"])


def test_second_call_does_not_recompile(jitted_run: JittedRun) -> None:
    params, batch = make_problem()
    f, traces = jitted_run
    for seed, tkl in ((0, 0.01), (1, 1.0), (2, float("inf"))):
        f(params, batch, jax.random.PRNGKey(seed), jnp.float32(tkl))
    assert len(traces) == 1  # new keys and target KLs reuse the compiled program


def test_vmap_over_seeds() -> None:
    params, batch = make_problem()
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    optimizer = make_optimizer()
    res = jax.jit(jax.vmap(lambda k: run(params, batch, k, optimizer, 1e3)))(keys)
    single = run(params, batch, keys[1], optimizer, 1e3)
    assert_tree_close(jax.tree.map(lambda x: x[1], res.params), single.params)


def test_bad_minibatch_count() -> None:
    params, batch = make_problem()
    optimizer = make_optimizer()
    with pytest.raises(ValueError, match="n_minibatches"):
        minibatch_epochs(
            loss_fn, params, optimizer.init(params), optimizer, batch, jax.random.PRNGKey(0), 1, 5
        )


def test_a2c_rmsprop_is_pytorchs_as_sb3_sets_it() -> None:
    """The ``pg`` recipe's RMSprop is the one SB3's A2C runs: PyTorch's ``RMSprop(alpha=0.99,
    eps=1e-5)``, whose ε is added *outside* the root, ``g / (√ν + ε)`` (optax's default puts it
    inside, ``g / √(ν + ε)``: a smaller step wherever gradients are small). Three steps against
    the closed form, and against PyTorch itself where it is installed."""
    from types import SimpleNamespace

    from policyopt.algorithms import _optimizer

    lr, grads = 7e-4, [np.array([3e-4, -2e-3, 0.2]), np.array([1e-4, 5e-3, -0.1])] * 2
    opt = _optimizer(SimpleNamespace(optimizer="rmsprop"), {"learning_rate": lr,
                                                            "max_grad_norm": 10.0})  # fmt: skip
    params, state = jnp.zeros(3), None
    state = opt.init(params)
    nu, expected = np.zeros(3), np.zeros(3)
    for g in grads:
        updates, state = opt.update(jnp.asarray(g, jnp.float32), state, params)
        params = optax.apply_updates(params, updates)
        nu = 0.99 * nu + 0.01 * g**2
        expected = expected - lr * g / (np.sqrt(nu) + 1e-5)
    np.testing.assert_allclose(np.asarray(params), expected, rtol=1e-5)
    torch = pytest.importorskip("torch")
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    ref = torch.optim.RMSprop([w], lr=lr, alpha=0.99, eps=1e-5)
    for g in grads:
        w.grad = torch.as_tensor(g)
        ref.step()
    np.testing.assert_allclose(np.asarray(params), w.detach().numpy(), rtol=1e-5)
