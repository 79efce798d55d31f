"""First-order solver: epochs × shuffled minibatches of an optax optimiser (PPO, PPO-KL, A2C, MDPO).

PPO (Schulman et al. 2017) approximately solves its proximal subproblem by ``n_epochs`` passes
over the rollout, each split into ``n_minibatches`` random minibatches, one optimiser step per
minibatch; A2C is the special case of one epoch and one minibatch, MDPO of ``m`` epochs of one
full-batch minibatch. Here the whole thing is two nested ``lax.scan`` loops, so it compiles once
and runs under ``jit`` and ``vmap`` (over seeds or float hyperparameters).

The optional KL early stop is stable-baselines3's: before applying a minibatch's update, if its
``approx_kl`` (estimated at the current parameters) exceeds ``1.5 · target_kl``, that update and
every later one are skipped. With no Python control flow on traced values, "skipped" means
masked: the step is still computed but ``params`` and ``opt_state`` are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["FirstOrderResult", "minibatch_epochs"]

_tu = optax.tree_utils

LossFn = Callable[[Any, Any], tuple[jax.Array, dict[str, jax.Array]]]


class FirstOrderResult(NamedTuple):
    """The result of :func:`minibatch_epochs`.

    Attributes:
        params: the updated parameters.
        opt_state: the updated optimiser state (carry it to the next call).
        metrics: each ``aux`` entry averaged over the minibatch updates actually applied (if
            the early stop fired on the very first minibatch, that minibatch's ``aux``), plus
            ``"grad_norm"``: the global norm of the raw gradients, averaged the same way
            (the non-finite guard, :mod:`policyopt.guard`, checks it).
        n_updates: how many minibatch updates were applied (int32).
        stopped_early: whether the KL early stop fired (bool).
    """

    params: Any
    opt_state: Any
    metrics: dict[str, jax.Array]
    n_updates: jax.Array
    stopped_early: jax.Array


class _Carry(NamedTuple):
    params: Any
    opt_state: Any
    stopped: jax.Array


class _StepOut(NamedTuple):
    aux: dict[str, jax.Array]
    applied: jax.Array


def minibatch_epochs(
    loss_fn: LossFn,
    params: Any,
    opt_state: Any,
    optimizer: optax.GradientTransformation,
    batch: Any,
    key: jax.Array,
    n_epochs: int,
    n_minibatches: int,
    target_kl: float | jax.Array | None = None,
) -> FirstOrderResult:
    """Run ``n_epochs`` passes over ``batch`` in ``n_minibatches`` shuffled minibatches.

    Epoch e uses the permutation ``jax.random.permutation(jax.random.split(key, n_epochs)[e],
    N)`` of the N rows and cuts it into ``n_minibatches`` consecutive blocks of ``N //
    n_minibatches`` rows; each block gets one ``optimizer`` step on ``loss_fn``'s gradient.
    The optimiser is the caller's, e.g. ``optax.chain(optax.clip_by_global_norm(0.5),
    optax.adam(schedule))``: learning-rate annealing is an optax schedule (driven by the step
    count in ``opt_state``) or ``optax.inject_hyperparams`` with the rate set in ``opt_state``.

    Args:
        loss_fn: ``(params, minibatch) -> (loss, aux)``, ``aux`` a dict of scalars; it must
            contain ``"approx_kl"`` (at the pre-update params) when ``target_kl`` is given.
        params: the parameters to optimise (any pytree).
        opt_state: ``optimizer``'s state for ``params``.
        optimizer: an optax ``GradientTransformation``.
        batch: a pytree of arrays sharing a leading axis of N rows.
        key: PRNG key for the shuffles.
        n_epochs: passes over the batch; static.
        n_minibatches: minibatches per epoch; static, must divide N.
        target_kl: ``None`` (static: no early stop) or the target KL (float, may be traced;
            ``inf`` disables it at run time).

    Returns:
        A :class:`FirstOrderResult`.

    Raises:
        ValueError: if ``n_epochs`` or ``n_minibatches`` is not a positive int, or
            ``n_minibatches`` does not divide the batch size.
        KeyError: if ``target_kl`` is given and ``aux`` has no ``"approx_kl"``.
    """
    leaves = jax.tree.leaves(batch)
    if not leaves:
        raise ValueError("minibatch_epochs: batch has no arrays")
    n = leaves[0].shape[0]
    for name, value in (("n_epochs", n_epochs), ("n_minibatches", n_minibatches)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"minibatch_epochs: {name} must be a positive int, got {value!r}")
    if n % n_minibatches:
        raise ValueError(
            f"minibatch_epochs: n_minibatches={n_minibatches} must divide the batch size {n}"
        )
    mb_size = n // n_minibatches
    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def minibatch_step(carry: _Carry, mb: Any) -> tuple[_Carry, _StepOut]:
        (_, aux), grads = grad_fn(carry.params, mb)
        aux = {**aux, "grad_norm": optax.global_norm(grads)}  # before clipping
        stopped = carry.stopped
        if target_kl is not None:
            if "approx_kl" not in aux:
                raise KeyError("minibatch_epochs: target_kl needs aux['approx_kl'] from loss_fn")
            stopped = stopped | (aux["approx_kl"] > 1.5 * target_kl)
        updates, new_opt_state = optimizer.update(grads, carry.opt_state, carry.params)
        new_params = optax.apply_updates(carry.params, updates)
        if target_kl is None:  # static: no step is ever skipped, so nothing to mask (masking
            # every parameter and Adam moment each step costs XLA copies: ~20% of an update)
            return _Carry(new_params, new_opt_state, stopped), _StepOut(aux, jnp.bool_(True))
        apply = ~stopped
        carry = _Carry(
            params=_tu.tree_where(apply, new_params, carry.params),
            opt_state=_tu.tree_where(apply, new_opt_state, carry.opt_state),
            stopped=stopped,
        )
        return carry, _StepOut(aux=aux, applied=apply)

    def epoch(carry: _Carry, epoch_key: jax.Array) -> tuple[_Carry, _StepOut]:
        perm = jax.random.permutation(epoch_key, n)
        minibatches = jax.tree.map(
            lambda x: x[perm].reshape((n_minibatches, mb_size, *x.shape[1:])), batch
        )
        return jax.lax.scan(minibatch_step, carry, minibatches)

    init = _Carry(params=params, opt_state=opt_state, stopped=jnp.bool_(False))
    carry, out = jax.lax.scan(epoch, init, jax.random.split(key, n_epochs))

    applied = out.applied.reshape(-1)
    n_updates = jnp.sum(applied.astype(jnp.int32))
    first_only = jnp.arange(applied.shape[0]) == 0
    weights = jnp.where(n_updates > 0, applied, first_only)

    def average(v: jax.Array) -> jax.Array:
        v = v.reshape((applied.shape[0], *v.shape[2:]))
        w = weights.astype(jnp.result_type(v, jnp.float32))
        # A minibatch that was not applied (after a KL early stop) weighs 0; zero its value
        # too, so an inf there (0·inf = NaN) cannot flag a valid update as non-finite.
        v = jnp.where(w.reshape(-1, *([1] * (v.ndim - 1))) > 0, v, 0)
        return jnp.tensordot(w, v, axes=1) / jnp.sum(w)

    metrics = {k: average(v) for k, v in out.aux.items()}
    return FirstOrderResult(carry.params, carry.opt_state, metrics, n_updates, carry.stopped)
