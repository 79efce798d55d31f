"""Step-size schedules t_k of the mirror-descent family, shared by the exact and deep levels.

Two schedules that anneal in *opposite directions* are both called "MDPO" in the literature,
so they carry their authors' names here:

* ``linear`` — the MDPO paper's (Tomar, Shani, Efroni & Ghavamzadeh 2020, on-policy code):
  ``t_k = max(t_0 (1 − k/K), t_min)``; the step *shrinks*, the KL penalty 1/t_k grows.
* ``geometric`` — policy mirror descent's (Xiao 2022, Thm 10; Lan 2021):
  ``t_k = min(t_0 / γ^k, t_max)``; the step *grows* (η_{k+1} ≥ η_k/γ), which gives linear
  convergence of the exact update.
* ``constant`` — ``t_k = t_0`` (O(1/k) for exact PMD).
* ``shani`` — Adaptive TRPO (Shani, Efroni & Mannor 2019): ``t_k = c/(λ(k+2))`` when the
  entropy regulariser λ > 0 (rate Õ(1/k)), and ``t_k = c (1−γ)/(C_max √(k+1))`` when λ = 0
  (rate Õ(1/√k)); c = 1 is the theorem's constant. The unregularised constant is mirror
  descent's ``1/(G √(k+1))`` with G = C_max/(1−γ) the sup-norm bound on Q (costs in
  [0, C_max]); at the deep level advantages are standardised, so G = 1 there.

Every function is written with ``jnp`` so the deep level can trace it (k and the floats as
arrays) and the exact level can call it with Python numbers.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

__all__ = ["MIRROR_SCHEDULES", "geometric", "linear", "mirror_step_size", "shani"]

MIRROR_SCHEDULES = ("linear", "geometric", "constant")


def linear(k: float | Array, horizon: float | Array, t0: float | Array, t_min: float | Array):
    """Tomar et al. (2020): ``max(t_0 (1 − k/K), t_min)``."""
    return jnp.maximum(t0 * (1.0 - k / horizon), t_min)


def geometric(k: float | Array, gamma: float | Array, t0: float | Array, t_max: float | Array):
    """Xiao (2022): ``min(t_0 γ^{−k}, t_max)``, computed in log space (no overflow)."""
    return jnp.minimum(t0 * jnp.exp(-k * jnp.log(gamma)), t_max)


def mirror_step_size(
    schedule: str,
    k: float | Array,
    progress: float | Array,
    gamma: float | Array,
    t0: float | Array,
    t_min: float | Array,
    t_max: float | Array,
):
    """t_k of ``schedule`` (one of :data:`MIRROR_SCHEDULES`) at iteration k, ``progress`` =
    k/K of the training horizon (the linear schedule needs K, the geometric one needs k)."""
    if schedule == "linear":
        return linear(progress, 1.0, t0, t_min)
    if schedule == "geometric":
        return geometric(k, gamma, t0, t_max)
    if schedule == "constant":
        return t0 + 0.0 * k
    raise ValueError(f"schedule: got {schedule!r}; allowed: {', '.join(MIRROR_SCHEDULES)}")


def shani(k: float | Array, lam: float | Array, scale: float | Array, grad_bound: float | Array):
    """Shani et al. (2019): ``c/(λ(k+2))`` if λ > 0, else ``c/(G √(k+1))``.

    ``grad_bound`` is G, the sup-norm bound of the Q-values the step multiplies:
    C_max/(1−γ) at the exact level (costs in [0, C_max]).
    """
    regularised = scale / (jnp.maximum(lam, 1e-30) * (k + 2.0))
    return jnp.where(lam > 0, regularised, scale / (grad_bound * jnp.sqrt(k + 1.0)))
