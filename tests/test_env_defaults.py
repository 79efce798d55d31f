"""Settings for environments without a preset (policyopt.env_defaults): chosen by the env's
traits, never over a preset or the user's own settings, printed and kept in config.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyopt.cli import app
from policyopt.configs import CONFIGS
from policyopt.env_defaults import EnvTraits, env_defaults, env_traits
from policyopt.experiments import RunSpec
from policyopt.presets import preset

CONTINUOUS = EnvTraits(continuous=True, obs_dim=17, max_episode_steps=1000, reward_threshold=None)
ROBOT = EnvTraits(continuous=True, obs_dim=105, max_episode_steps=1000, reward_threshold=6000.0)
LONG = EnvTraits(continuous=False, obs_dim=8, max_episode_steps=1000, reward_threshold=200.0)
SHORT = EnvTraits(continuous=False, obs_dim=4, max_episode_steps=500, reward_threshold=475.0)


def test_traits_are_read_from_the_env() -> None:
    t = env_traits("MountainCarContinuous-v0", "compiled")
    assert t == EnvTraits(True, 2, 999, 90.0, pytest.approx(0.07))
    t = env_traits("Acrobot-v1", "host")
    assert t is not None and not t.continuous and t.obs_dim == 6 and t.max_episode_steps == 500
    assert env_traits("NoSuchEnv-v0", "host") is None  # training fails later, with its message


def test_continuous_control_gets_long_rollouts_and_host_normalisation() -> None:
    d = env_defaults(CONFIGS["ppo"], CONTINUOUS, "host")
    assert d is not None and d.kind == "continuous control"
    assert d.config["num_envs"] * d.config["num_steps"] == 2048
    assert d.config["learning_rate"] == 3e-4 and d.config["n_epochs"] == 10
    assert d.run == {"normalize_obs": True, "normalize_reward": True}
    assert "hidden_sizes" not in d.config
    # a recipe gets only fields its config has: TRPO has no learning_rate / n_epochs
    t = env_defaults(CONFIGS["trpo"], CONTINUOUS, "host")
    assert t is not None and "learning_rate" not in t.config and t.config["vf_epochs"] == 10
    # the compiled level normalises in its loop too
    c = env_defaults(CONFIGS["ppo"], CONTINUOUS, "compiled")
    assert c is not None and c.run == {"normalize_obs": True, "normalize_reward": True}
    # wide observations keep (64, 64) networks at Adam 3e-4; large returns get reward scaling
    r = env_defaults(CONFIGS["ppo"], ROBOT, "host")
    assert r is not None and "hidden_sizes" not in r.config
    assert r.run["normalize_reward"]


def test_discrete_tasks() -> None:
    d = env_defaults(CONFIGS["npg"], LONG, "host")
    assert d is not None and d.kind == "long-horizon discrete control"
    assert d.config["gamma"] == 0.999 and d.config["num_envs"] * d.config["num_steps"] == 8192
    assert env_defaults(CONFIGS["ppo"], SHORT, "host") is None  # config defaults are tuned
    # vanilla PG keeps its own short rollouts (one gradient step per rollout)
    pg = env_defaults(CONFIGS["pg"], LONG, "host")
    assert pg is not None and "num_steps" not in pg.config and pg.config["gamma"] == 0.999


def test_run_spec_applies_defaults_under_presets_and_user_settings() -> None:
    spec = RunSpec("mdpo", "MountainCarContinuous-v0")
    cfg = spec.config()
    assert (cfg.num_envs, cfg.num_steps, cfg.gae_lambda) == (8, 256, 0.95)
    # the user's settings win, and --no-preset means the config defaults alone
    assert RunSpec("mdpo", "MountainCarContinuous-v0", overrides={"num_steps": 64}).config(
    ).num_steps == 64  # fmt: skip
    bare = RunSpec("mdpo", "MountainCarContinuous-v0", use_preset=False)
    assert bare.env_defaults() is None and bare.config().num_steps == 128
    # a preset is never overridden by defaults
    ppo = RunSpec("ppo", "Pendulum-v1")
    assert ppo.env_defaults() is None and ppo.config().gamma == 0.9
    # host normalisation: the defaults' choice unless the user said otherwise
    # (an env no suite has, so it never gets a preset that would decide instead)
    host = RunSpec("trpo", "BipedalWalkerHardcore-v3")
    assert preset("trpo", "BipedalWalkerHardcore-v3") == ({}, None)
    pytest.importorskip("Box2D")
    assert host.normalization() == (True, True)
    off = RunSpec("trpo", "BipedalWalkerHardcore-v3", normalize_obs=False)
    assert off.normalization() == (False, True)
    assert RunSpec("ppo", "LunarLander-v3").normalization() == (False, False)


def test_cli_prints_the_defaults_and_config_json_keeps_them(tmp_path: Path) -> None:
    # An env no suite has, so no preset will ever be tuned for it (the suites' pairs get
    # presets one by one: this test broke twice before when its pair got one).
    env = "BipedalWalkerHardcore-v3"
    assert preset("npg", env) == ({}, None)
    res = CliRunner().invoke(
        app,
        ["train", "npg", env, "--steps", "4096",
         "--set", "eval_episodes=1", "--runs-dir", str(tmp_path), "--name", "mcc"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "using defaults for continuous control: num_envs=8, num_steps=256" in res.output
    cfg = json.loads((tmp_path / "mcc" / "config.json").read_text())
    assert cfg["num_steps"] == 256
    assert cfg["run"]["env_defaults"]["kind"] == "continuous control"
    assert cfg["run"]["env_defaults"]["config"]["gae_lambda"] == 0.95

    # what the user set is theirs: the line and the record list only what the defaults chose
    res = CliRunner().invoke(
        app,
        ["train", "npg", env, "--steps", "4096", "--set", "num_envs=2",
         "--set", "eval_episodes=1", "--no-normalize", "--runs-dir", str(tmp_path),
         "--name", "mine"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    line = " ".join(res.output.split())  # rich wraps long lines
    assert "using defaults for continuous control: num_steps=256," in line
    assert "num_envs=8" not in line and "normalize_obs=True" not in line
    assert "(yours: num_envs, normalize_obs, normalize_reward)" in line
    cfg = json.loads((tmp_path / "mine" / "config.json").read_text())
    assert cfg["num_envs"] == 2 and cfg["run"]["normalization"] == {"obs": False, "reward": False}
    assert "num_envs" not in cfg["run"]["env_defaults"]["config"]
    assert cfg["run"]["env_defaults"]["yours"] == ["num_envs", "normalize_obs", "normalize_reward"]


def test_a_preset_tuned_with_normalisation_carries_it() -> None:
    spec = RunSpec("mdpo", "Pendulum-v1")
    assert spec.env_defaults() is None  # a preset: the defaults are not consulted for config
    assert spec.normalization() == (True, True) and spec.config().learning_rate == 1e-3
    assert RunSpec("mdpo", "Pendulum-v1", normalize_reward=False).normalization() == (True, False)
    assert RunSpec("mdpo", "Pendulum-v1", use_preset=False).normalization() == (False, False)
    assert "normalize_obs" not in preset("mdpo", "Pendulum-v1")[0]  # config fields only


def test_an_id_gymnasium_cannot_make_takes_its_traits_from_envpool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A MuJoCo id with EnvPool installed and not the ``mujoco`` extra trains on EnvPool: its
    defaults came out None (no normalisation, CartPole's rollouts) while the same run with
    the extra got continuous control's. Gymnasium is made to fail here either way."""
    pytest.importorskip("envpool")
    import gymnasium as gym

    from policyopt.env_kwargs import EnvKwargs

    def cannot_make(env_id: str, **kwargs: object) -> None:
        raise gym.error.DependencyNotInstalled("MuJoCo is not installed")

    monkeypatch.setattr(gym, "make", cannot_make)
    env_traits.cache_clear()
    try:
        full = env_traits("Ant-v5", "host")
        bare = env_traits("Ant-v5", "host", EnvKwargs({"include_cfrc_ext_in_observation": False}))
        assert full == EnvTraits(True, 105, 1000, 6000.0, None)
        assert bare is not None and bare.obs_dim == 27
        # Walker2d has no solved threshold (Gymnasium's registry nor EnvPool's options)
        assert env_traits("Walker2d-v5", "host") == EnvTraits(True, 17, 1000, None, None)
        spec = RunSpec("npg", "Humanoid-v5")  # a MuJoCo pair without a preset
        assert preset("npg", "Humanoid-v5")[1] is None
        defaults = spec.env_defaults()
        assert defaults is not None and defaults.kind == "continuous control"
        assert spec.normalization() == (True, True)
        assert spec.config().num_steps == 256
        # an id no backend has: still no traits, training fails with its own message
        assert env_traits("NoSuchEnv-v0", "host") is None
    finally:
        env_traits.cache_clear()
