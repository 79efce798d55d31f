"""Running observation normalisation and reward scaling in the compiled loop: the same
statistics as the host level's (SB3's VecNormalize), carried into exported agents."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from policyopt import Agent
from policyopt.configs import make_config
from policyopt.experiments import RunSpec, train_run
from policyopt.host import RunningMeanStd
from policyopt.train import RunningStats, make_train


@settings(max_examples=25, deadline=None)
@given(st.lists(arrays(np.float64, (5, 3), elements=st.floats(-100, 100)), min_size=1, max_size=4))
def test_compiled_statistics_equal_the_host_ones(batches: list[np.ndarray]) -> None:
    host = RunningMeanStd.zeros((3,))
    ours = RunningStats.zeros((3,))
    for b in batches:
        host.update(b)
        ours = ours.update(jnp.asarray(b, jnp.float32))
    np.testing.assert_allclose(ours.mean, host.mean, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(ours.var, host.var, rtol=1e-3, atol=1e-2)
    assert float(ours.count) == np.float32(host.count)
    x = jnp.asarray(batches[0], jnp.float32)
    expected = np.clip((batches[0] - host.mean) / np.sqrt(host.var + 1e-8), -10, 10)
    np.testing.assert_allclose(ours.normalize(x), expected, rtol=1e-3, atol=1e-3)


def test_normalisation_is_part_of_the_program_only_when_asked() -> None:
    cfg = make_config(
        "ppo", env_id="MountainCarContinuous-v0", num_envs=4, num_steps=32,
        total_timesteps=4 * 32 * 3, batch_size=32, n_epochs=1, eval_episodes=2,
    )  # fmt: skip
    key = jax.random.PRNGKey(0)
    plain = jax.jit(make_train(cfg))(key)
    assert plain.norm.obs is None and plain.norm.ret is None
    normed = jax.jit(make_train(cfg, normalize_obs=True, normalize_reward=True))(key)
    # every observation the policy acted on went into the statistics
    assert float(normed.norm.obs.count) == np.float32(1e-4 + 4 * 32 * 3)
    assert normed.norm.ret.mean.shape == () and normed.norm.disc_ret.shape == (4,)
    # MountainCar's velocity is ~1e-2: normalised, it is of order one
    assert float(normed.norm.obs.var[1]) < 1e-3
    # the learner saw scaled rewards: its critic's loss is on another scale
    assert not np.allclose(plain.metrics["train/value_loss"], normed.metrics["train/value_loss"])


def test_compiled_run_exports_agents_with_their_statistics(tmp_path: Path) -> None:
    spec = RunSpec("ppo", "MountainCarContinuous-v0", seeds=2, steps=4 * 32 * 2,
                   overrides={"num_envs": 4, "num_steps": 32, "batch_size": 32, "n_epochs": 1,
                              "eval_episodes": 1})  # fmt: skip
    assert spec.normalization() == (True, True)  # the preset was tuned with both
    train_run(spec, tmp_path / "run")
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["run"]["normalization"] == {"obs": True, "reward": True}
    agents = [Agent.load(tmp_path / "run" / "checkpoints" / f"seed_{k}.ckpt") for k in range(2)]
    for a in agents:
        assert a.settings["normalize_obs"] and a.settings["normalize_reward"]
        assert a.state.obs_rms is not None and a.state.obs_rms.count > 4 * 32 * 2
    # per seed: each seed's own statistics
    assert not np.allclose(agents[0].state.obs_rms.mean, agents[1].state.obs_rms.mean)
    obs = np.zeros((1, 2), np.float32)
    assert np.isfinite(agents[0].predict(obs, deterministic=True)[0]).all()
