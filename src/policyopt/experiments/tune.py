"""Tuning on the compiled level: a grid of float hyperparameters × seeds in one XLA program.

Every float config field is a traced leaf of ``train`` (:func:`policyopt.configs.hparams`), so a
grid over, say, learning rate × γ is ``jax.vmap`` over a batch of hyperparameter dicts, and
the seeds are a second ``vmap``: one compilation for the whole grid. This is how presets are
found (on tuning seeds ≥ 1000, disjoint from the reporting seeds 0–4 of the benchmarks).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from policyopt.errors import ConfigError
from policyopt.experiments.training import RunSpec

__all__ = ["TuneResult", "tune_compiled"]


@dataclass(frozen=True)
class TuneResult:
    """Every grid point's final evaluation return per seed, and the pick (best mean)."""

    algo: str
    env_id: str
    grid: dict[str, list[float]]
    points: list[dict[str, float]]
    returns: np.ndarray  # [points, seeds]: mean deterministic evaluation return per seed
    seeds: list[int]
    steps: int
    seconds: float
    settings: dict[str, Any]  # the RunSpec's resolved config overrides and normalisation

    @property
    def best(self) -> dict[str, float]:
        return self.points[int(np.argmax(self.returns.mean(axis=1)))]

    def to_json(self) -> dict[str, Any]:
        return {
            "algo": self.algo,
            "env_id": self.env_id,
            "grid": self.grid,
            "seeds": self.seeds,
            "steps": self.steps,
            "seconds": self.seconds,
            "settings": self.settings,
            "points": [
                {**p, "mean": float(r.mean()), "per_seed": r.tolist()}
                for p, r in zip(self.points, self.returns, strict=True)
            ],
            "best": self.best,
        }


def tune_compiled(spec: RunSpec, grid: dict[str, list[float]], seed: int = 1000) -> TuneResult:
    """Train ``spec`` (a compiled-level run) at every point of ``grid`` with ``spec.seeds``
    seeds from ``seed``, all in one program; float fields only (they are traced)."""
    import jax

    from policyopt.configs import float_fields, hparams
    from policyopt.train import make_train

    if spec.resolved_level() != "compiled":
        raise ConfigError("tune", "env_id", f"{spec.env_id!r} is not a JAX-native (gymnax) id")
    cfg = spec.check()
    floats = set(float_fields(type(cfg)))
    for name in grid:
        if name not in floats:
            raise ConfigError(
                "tune", name, f"not a float field of {type(cfg).__name__}; allowed: "
                f"{', '.join(sorted(floats))}"
            )  # fmt: skip
    names = list(grid)
    points = [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]
    base = hparams(cfg)
    hp = {k: np.full(len(points), float(v), np.float32) for k, v in base.items()}
    for i, p in enumerate(points):
        for k, v in p.items():
            hp[k][i] = v
    if "target_kl" in grid and max(grid["target_kl"]) > 0 >= float(cfg.target_kl):  # type: ignore[attr-defined]
        # The KL early stop is compiled in only for a positive config value; each point's
        # own value (0 included: no stop) arrives traced in ``hp``.
        cfg = dataclasses.replace(cfg, target_kl=float(max(grid["target_kl"])))  # type: ignore[call-arg]
    normalize_obs, normalize_reward = spec.normalization()
    train = make_train(cfg, normalize_obs=normalize_obs, normalize_reward=normalize_reward)
    keys = jax.random.split(jax.random.PRNGKey(seed), spec.seeds)
    over_seeds = jax.vmap(train, in_axes=(0, None))
    fn = jax.jit(jax.vmap(over_seeds, in_axes=(None, 0)))
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(keys, {k: jax.numpy.asarray(v) for k, v in hp.items()}))
    seconds = time.perf_counter() - t0
    returns = np.asarray(out.eval_returns).mean(axis=-1)  # [points, seeds]
    settings = {
        "overrides": {k: v for k, v in spec.config().__dict__.items() if k != "env_id"},
        "normalization": list(spec.normalization()),
    }
    return TuneResult(
        spec.algo,
        spec.env_id,
        {k: [float(v) for v in vs] for k, vs in grid.items()},
        points,
        returns,
        list(range(seed, seed + spec.seeds)),
        cfg.num_updates * cfg.rollout_size,
        seconds,
        settings,
    )
