"""K-FAC natural directions through kfac-jax (Martens & Grosse 2015; ACKTR, Wu et al. 2017).

K-FAC approximates the policy's Fisher block-diagonally, one block per dense layer, each block
a Kronecker product A ⊗ G of the layer's input second moment and its output-gradient second
moment, so (A ⊗ G + λI)⁻¹ costs two small inversions per layer instead of a P × P solve.
The factors are estimated by DeepMind's kfac-jax (``fisher_exact`` mode: the exact expectation
over the policy's own distribution, no sampled actions) on the update's rollout states, from
scratch each update (the rollout changes, so ACKTR's running average would mix policies).

A diagonal Gaussian's ``log_std`` is not a dense layer; its Fisher block is exactly
``2·I`` (∂/∂log σ of log N(a; μ, σ²) has variance 2 under the policy) and its cross terms with
the mean's parameters vanish, so it is preconditioned by ``1/(2 + λ)`` exactly.

kfac-jax is an optional extra (``pip install "policyopt[kfac]"``): it pulls distrax and
TensorFlow Probability, which nothing else here needs. kfac-jax 0.0.8 predates jax 0.10, whose
``Primitive.get_bind_params`` returns the parameters alone; :func:`_install_shim` adapts the
one function that calls it (checked by ``tests/test_directions.py`` against the dense solve).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from policyopt.errors import ConfigError

__all__ = ["MISSING", "kfac_available", "kfac_direction"]

MISSING = "'kfac' (K-FAC, ACKTR) needs kfac-jax: pip install 'policyopt[kfac]'"


def kfac_available() -> bool:
    """Whether kfac-jax can be imported (checked by configs before anything compiles)."""
    import importlib.util

    return importlib.util.find_spec("kfac_jax") is not None


@functools.cache
def _kfac() -> Any:
    try:
        import kfac_jax
    except ImportError as err:
        raise ConfigError("natural", "fisher_solver", MISSING) from err
    _install_shim()
    return kfac_jax


def _install_shim() -> None:
    """Adapt kfac-jax 0.0.8 to jax 0.10: two functions, same results.

    * its jaxpr evaluator unpacks ``Primitive.get_bind_params`` as (subfuns, params), which
      jax 0.10 returns as params alone;
    * its eigendecomposition falls back to NumPy on the host (a ``pure_callback``) when the
      device's returns NaN (a CUDA 11.7 bug). Under ``vmap`` that branch runs for every
      update, and on XLA:CPU the callback inside the compiled training loop deadlocked (5
      vmapped seeds, no CPU progress); jax 0.10 also refuses to batch it without a
      ``vmap_method``. The device ``eigh`` is used alone: a NaN factor then shows up as a
      NaN direction, which the non-finite guard rejects, rather than as a hang.
    """
    from jax import extend as jex
    from kfac_jax._src import tag_graph_matcher as tgm
    from kfac_jax._src.utils import math as kmath

    def device_eigh(x: jax.Array, force_on_host: bool = False) -> tuple[jax.Array, jax.Array]:
        del force_on_host
        s, q = jnp.linalg.eigh(x)
        return s, q

    kmath._eigh = device_eigh

    def eval_jaxpr_eqn(eqn: Any, in_values: list) -> list:
        out = eqn.primitive.get_bind_params(eqn.params)
        subfuns, bind_params = out if isinstance(out, tuple) else ((), out)
        with jex.source_info_util.user_context(eqn.source_info.traceback):
            output = eqn.primitive.bind(*subfuns, *in_values, **bind_params)
        return output if isinstance(output, list) else [output]

    tgm.eval_jaxpr_eqn = eval_jaxpr_eqn


def kfac_direction(
    nets: Any, actor: Any, obs: jax.Array, g: Any, damping: jax.Array, key: jax.Array
) -> Any:
    """``(F̂_KFAC + damping·I)⁻¹ g`` for the policy ``actor`` on the states ``obs``.

    Args:
        nets: the :class:`~policyopt.nn.Networks` (its ``policy`` gives the distribution).
        actor: the policy parameters θ_k (flax ``{"params": …}``).
        obs: the rollout's observations ``[B, …]``.
        g: the surrogate gradient, shaped like ``actor``.
        damping: λ > 0 (K-FAC's Tikhonov term, added per block); may be traced.
        key: PRNG key kfac-jax's estimator takes (unused by ``fisher_exact``).
    """
    kfac_jax = _kfac()
    params = actor["params"]
    log_std = params.get("log_std")
    dense = {k: v for k, v in params.items() if k != "log_std"}

    def func(dense_params: Any, states: jax.Array) -> jax.Array:
        fixed = {} if log_std is None else {"log_std": jax.lax.stop_gradient(log_std)}
        dist = nets.policy({**actor, "params": {**dense_params, **fixed}}, states)
        if hasattr(dist, "logits"):
            kfac_jax.register_categorical_predictive_distribution(dist.logits)
        else:
            kfac_jax.register_normal_predictive_distribution(dist.mean, jnp.exp(2 * dist.log_std))
        return jnp.zeros((), obs.dtype)

    est = kfac_jax.BlockDiagonalCurvature(func, default_estimation_mode="fisher_exact")
    state = est.init(key, (dense, obs), exact_powers_to_cache=-1, approx_powers_to_cache=None)
    state = est.update_curvature_matrix_estimate(
        state, 0.0, 1.0, 0.0, obs.shape[0], key, (dense, obs)
    )
    state = est.update_cache(state, damping, -1, None, False, None)
    g_params = g["params"]
    d = est.multiply_inverse(
        state, {k: v for k, v in g_params.items() if k != "log_std"}, damping, True, True, None
    )
    if log_std is not None:
        d["log_std"] = g_params["log_std"] / (2.0 + damping)
    return {**g, "params": d}
