"""The non-finite guard: one check, shared by every recipe and both loops, that NaN never trains.

Why: a NaN reward, an exploding learning rate or an overflowing critic used to flow silently
into the parameters, then into ``predict``, ``summary.json`` and a sweep's "ok". Here every
update goes through :func:`guarded_update`, which (inside the jitted code, with a handful of
``jnp.isfinite`` reductions: no host sync, negligible next to the update itself) checks, in
causal order, the rollout's observations and rewards, the advantages, the losses, the
gradient norms, the new actor and critic parameters and the optimiser/recipe state. If any
is not finite the step is *rejected*: the old learner is selected with ``lax.cond`` (no
Python control flow on traced values) and ``train/nonfinite`` holds the 1-based index of the
first bad quantity in :data:`policyopt.faults.QUANTITIES` (0 = all finite).

What happens next is ``on_nan``:

* ``"raise"`` (default): the run stops. The host loop raises
  :class:`~policyopt.faults.NonFiniteError` after the update that detected it; the compiled
  loop, which XLA cannot stop in the middle of a ``lax.scan``, freezes (every later update
  is rejected too, so it returns the last good learner) and
  :func:`~policyopt.faults.raise_if_nonfinite` raises from Python once the program returns.
* ``"skip"``: the step is rejected, counted in ``train/rejected_nonfinite`` (cumulative), and
  training goes on from the last good learner. A non-finite observation or reward is never
  skipped: it means the *environment* is broken, and that stops the run either way.

The errors, the ``on_nan`` choices and the NumPy checks of the host side live in
:mod:`policyopt.faults` (light to import); this module is the jitted part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from policyopt.algorithms import make_batch
from policyopt.faults import NONFINITE

__all__ = ["first_nonfinite", "guarded_update"]


# --------------------------------------------------------------------------- jitted guard


def _finite(*trees: Any) -> jax.Array:
    """True iff every floating-point leaf of ``trees`` is finite (integer leaves always are)."""
    leaves = [
        jnp.all(jnp.isfinite(x))
        for x in jax.tree.leaves(trees)
        if jnp.issubdtype(jnp.result_type(x), jnp.inexact)
    ]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.bool_(True)


def first_nonfinite(checks: list[jax.Array]) -> jax.Array:
    """``1 + index`` of the first False in ``checks`` (bool scalars), 0 if all are True."""
    ok = jnp.stack(checks)
    return jnp.where(jnp.all(ok), 0, jnp.argmin(ok) + 1).astype(jnp.int32)


def _metrics_named(metrics: Mapping[str, jax.Array], suffix: str) -> list[jax.Array]:
    return [v for k, v in metrics.items() if k.endswith(suffix)]


def guarded_update(recipe: Any, nets: Any) -> Callable[..., tuple[Any, dict[str, jax.Array]]]:
    """The shared update path: GAE batch, the recipe's update, the finiteness check.

    Returns ``update(learner, traj, key, hp, progress, k, frozen=False) -> (learner,
    metrics)``: the recipe's new learner if every checked quantity is finite and ``frozen``
    is False, else ``learner`` unchanged. ``metrics`` has the recipe's metrics plus
    ``train/nonfinite`` (int32: 0, or 1 + index into :data:`policyopt.faults.QUANTITIES`).
    A gradient is checked through the ``*grad_norm`` metrics recipes report, a loss through
    the ``*_loss`` ones.
    """

    def update(
        learner: Any,
        traj: Any,
        key: jax.Array,
        hp: dict[str, jax.Array],
        progress: jax.Array,
        k: jax.Array,
        frozen: jax.Array | bool = False,
    ) -> tuple[Any, dict[str, jax.Array]]:
        batch = make_batch(nets, learner.critic, traj, hp)
        new, metrics = recipe.update(learner, batch, key, hp, progress, k)
        code = first_nonfinite(
            [
                _finite(traj.obs, traj.final_obs),
                _finite(traj.reward),
                _finite(batch.adv, batch.returns),
                _finite(_metrics_named(metrics, "_loss")),
                _finite(_metrics_named(metrics, "grad_norm")),
                _finite(new.actor),
                _finite(new.critic),
                _finite(new.extra, new.actor_opt, new.critic_opt),
            ]
        )
        accept = (code == 0) & jnp.logical_not(frozen)
        # A conditional, not a per-leaf ``tree_where``: XLA fuses a cheap scalar predicate
        # into each consumer, so a select per leaf copied the ~40 finiteness reductions above
        # into every leaf's fusion (a fifth of a PPO program's HLO, ~10% of its compile
        # time). Same bits either way; under ``vmap`` (seeds) JAX makes it a select again.
        learner = jax.lax.cond(accept, lambda: new, lambda: learner)
        return learner, {**metrics, NONFINITE: code}

    return update
