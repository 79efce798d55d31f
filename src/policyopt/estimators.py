"""Advantage estimators over one time-major trajectory (rlax naming); ``vmap`` for batches.

A rollout of T steps from a vectorised environment interleaves episodes, and an episode can end
in two ways that must not be confused (Pardo et al. 2018, "Time Limits in Reinforcement
Learning"):

* **termination** (``terminated_t = 1``): the MDP reached an absorbing state, the future return
  is 0, so the TD target does not bootstrap;
* **truncation** (a time limit, or a rollout boundary): the MDP would have continued, so the TD
  target still bootstraps from ``v_tp1[t]``, the value of the observation the step produced
  (the final observation, *before* the automatic reset).

Either way the next row of the trajectory belongs to a new episode, so the GAE recursion stops
there (``done_t = 1``). Hence two flags: ``terminated_t`` (no bootstrap) and
``done_t = terminated_t ∨ truncated_t`` (cut the recursion). ``done_t`` must include
``terminated_t``.

All functions take one trajectory of shape ``[T]``; :func:`batched_gae` maps over the
environment axis of ``[T, N]`` arrays. ``gamma`` and ``lam`` are ordinary (possibly traced)
floats, so ``jax.vmap`` over them sweeps hyperparameters inside one compiled program.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from policyopt.errors import same_shape

__all__ = ["batched_gae", "gae", "lambda_returns"]


class _Step(NamedTuple):
    """The per-step inputs of the reverse GAE recursion."""

    delta: jax.Array
    not_done: jax.Array


def gae(
    r_t: jax.Array,
    v_t: jax.Array,
    v_tp1: jax.Array,
    terminated_t: jax.Array,
    done_t: jax.Array,
    gamma: float | jax.Array,
    lam: float | jax.Array,
) -> jax.Array:
    """Generalised advantage estimation (Schulman et al. 2016, eq. 16) for one trajectory.

    With the TD error ``δ_t = r_t + γ (1 − terminated_t) v_tp1[t] − v_t``, the advantage is the
    exponentially weighted sum ``A_t = Σ_{l≥0} (γλ)^l δ_{t+l}`` truncated at the end of the
    episode, computed backwards as ``A_t = δ_t + γλ (1 − done_t) A_{t+1}`` with ``A_T = 0``
    (the last step's future is carried entirely by ``v_tp1[T−1]`` in ``δ_{T−1}``).

    ``λ`` trades bias for variance: ``λ = 0`` gives the one-step TD error δ_t (low variance,
    biased by the critic), ``λ = 1`` the Monte-Carlo return minus ``v_t`` (unbiased).

    Args:
        r_t: rewards, shape ``[T]``.
        v_t: critic values of the observations at which each action was taken, ``[T]``.
        v_tp1: critic values of the observation each step produced, ``[T]`` (for a truncated
            step, the final observation before the reset).
        terminated_t: 1 (or True) where the episode terminated at step t, ``[T]``.
        done_t: 1 (or True) where the episode ended at step t, terminated or truncated, ``[T]``.
        gamma: discount factor γ ∈ [0, 1]; may be traced.
        lam: GAE parameter λ ∈ [0, 1]; may be traced.

    Returns:
        The advantages ``A_t``, shape ``[T]``, in the dtype of ``r_t``.
    """
    same_shape("gae", r_t=r_t, v_t=v_t, v_tp1=v_tp1, terminated_t=terminated_t, done_t=done_t)
    dtype = jnp.result_type(r_t)
    not_term = 1.0 - jnp.asarray(terminated_t).astype(dtype)
    not_done = 1.0 - jnp.asarray(done_t).astype(dtype)
    gamma = jnp.asarray(gamma, dtype)
    delta = r_t + gamma * not_term * v_tp1 - v_t
    decay = gamma * jnp.asarray(lam, dtype)

    def backward(adv_tp1: jax.Array, step: _Step) -> tuple[jax.Array, jax.Array]:
        adv_t = step.delta + decay * step.not_done * adv_tp1
        return adv_t, adv_t

    _, adv = jax.lax.scan(backward, jnp.zeros_like(delta[0]), _Step(delta, not_done), reverse=True)
    return adv


def lambda_returns(
    r_t: jax.Array,
    v_t: jax.Array,
    v_tp1: jax.Array,
    terminated_t: jax.Array,
    done_t: jax.Array,
    gamma: float | jax.Array,
    lam: float | jax.Array,
) -> jax.Array:
    """λ-returns ``G^λ_t = A^GAE_t + v_t``: the critic's regression targets.

    The λ-return is the TD(λ) target (Sutton & Barto 2018, §12.1); adding ``v_t`` back to the GAE
    advantage gives it without a second pass. Arguments as :func:`gae`.

    Returns:
        The λ-returns, shape ``[T]``.
    """
    return gae(r_t, v_t, v_tp1, terminated_t, done_t, gamma, lam) + v_t


def batched_gae(
    r_t: jax.Array,
    v_t: jax.Array,
    v_tp1: jax.Array,
    terminated_t: jax.Array,
    done_t: jax.Array,
    gamma: float | jax.Array,
    lam: float | jax.Array,
) -> jax.Array:
    """:func:`gae` over ``[T, N]`` arrays: time-major, one column per environment.

    The environments are independent trajectories, so this is ``vmap`` over axis 1 with the
    same (possibly traced) ``gamma`` and ``lam`` for every column.

    Returns:
        The advantages, shape ``[T, N]``.
    """
    same_shape("batched_gae", r_t=r_t, v_t=v_t, v_tp1=v_tp1, terminated_t=terminated_t,
               done_t=done_t)  # fmt: skip
    return jax.vmap(gae, in_axes=(1, 1, 1, 1, 1, None, None), out_axes=1)(
        r_t, v_t, v_tp1, terminated_t, done_t, gamma, lam
    )
