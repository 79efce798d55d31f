"""Compiled-level tuning: a grid × seeds in one program equals the runs it stands for."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from policyopt.errors import ConfigError
from policyopt.experiments import RunSpec
from policyopt.experiments.tune import tune_compiled
from policyopt.train import run_train

SMALL = {"num_envs": 4, "num_steps": 32, "batch_size": 64, "n_epochs": 2, "eval_episodes": 2}


def test_a_grid_point_is_the_run_with_that_setting() -> None:
    spec = RunSpec("ppo", "CartPole-v1", seeds=2, steps=4 * 32 * 3, overrides=SMALL)
    res = tune_compiled(spec, {"learning_rate": [1e-3, 1e-2], "gamma": [0.9, 0.99]}, seed=1000)
    assert res.returns.shape == (4, 2) and res.seeds == [1000, 1001]
    assert res.points[3] == {"learning_rate": 1e-2, "gamma": 0.99}
    alone = RunSpec("ppo", "CartPole-v1", steps=4 * 32 * 3,
                    overrides={**SMALL, "learning_rate": 1e-2, "gamma": 0.99})  # fmt: skip
    out = run_train(alone.config(), seed=1000, num_seeds=2).output
    np.testing.assert_allclose(
        res.returns[3], np.asarray(jax.device_get(out.eval_returns)).mean(-1), rtol=1e-5
    )
    assert res.to_json()["best"] == res.best


def test_only_float_fields_of_a_compiled_run_can_be_tuned() -> None:
    with pytest.raises(ConfigError, match="num_steps: not a float field"):
        tune_compiled(RunSpec("ppo", "CartPole-v1", overrides=SMALL), {"num_steps": [1.0]})
    with pytest.raises(ConfigError, match="not a JAX-native"):
        tune_compiled(RunSpec("ppo", "LunarLander-v3"), {"gamma": [0.9]})
