"""``env_kwargs``: an environment's keyword arguments, on every level and backend.

The behaviour checked is the task's: an episode limit passed as ``max_episode_steps`` caps
every evaluation episode, on Gymnasium, on EnvPool (which spells some arguments otherwise)
and after a checkpoint round trip; gymnax ids take EnvParams fields.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from policyopt.agent import Agent
from policyopt.cli import app
from policyopt.configs import make_config
from policyopt.env_kwargs import EnvKwargs, envpool_kwargs
from policyopt.envs.host_env import envpool_ids, make_host_env, resolve_backend
from policyopt.errors import ConfigError
from policyopt.experiments.benchmark import Suite
from policyopt.experiments.training import RunSpec

SMALL = {"num_envs": 2, "num_steps": 32, "batch_size": 32, "n_epochs": 1}
needs_envpool = pytest.mark.skipif(not envpool_ids(), reason="EnvPool is not installed")


def test_env_kwargs_are_validated_hashable_and_survive_json() -> None:
    cfg = make_config("ppo", env_kwargs={"max_episode_steps": 20, "healthy_z_range": [0.2, 1.0]})
    assert cfg.env_kwargs == {"healthy_z_range": (0.2, 1.0), "max_episode_steps": 20}
    hash(cfg)  # configs are frozen and hashed (static arguments, cache keys)
    again = make_config("ppo", **json.loads(json.dumps(dataclasses.asdict(cfg))))
    assert again == cfg and hash(again) == hash(cfg)
    assert make_config("ppo", env_kwargs='{"max_episode_steps": 20}').env_kwargs == {
        "max_episode_steps": 20
    }
    assert make_config("ppo").env_kwargs == {} and make_config("ppo", env_kwargs=None) == (
        make_config("ppo")
    )
    with pytest.raises(TypeError, match="read-only"):
        cfg.env_kwargs["max_episode_steps"] = 5  # type: ignore[index]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([1, 2], "env_kwargs: must be a mapping"),
        ({"g": object()}, r"env_kwargs\.g: must be a number"),
        ({"not an identifier": 1}, "env_kwargs: keys must be argument names"),
        ("{not json", "env_kwargs: not a JSON object"),
    ],
)
def test_bad_env_kwargs_name_the_field(value: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make_config("ppo", env_kwargs=value)


def test_episode_limit_reaches_training_evaluation_and_a_loaded_agent(tmp_path: Path) -> None:
    agent = Agent(
        "ppo", "CartPole-v1", vectorization="sync", env_kwargs={"max_episode_steps": 12}, **SMALL
    )
    assert agent.trainer.envs.envs.envs[0].spec.max_episode_steps == 12  # type: ignore[attr-defined]
    agent.learn(64)
    assert np.all(agent.evaluate_episodes(6, deterministic=False) <= 12)
    agent.save(tmp_path / "a.ckpt")
    loaded = Agent.load(tmp_path / "a.ckpt")
    assert loaded.config.env_kwargs == {"max_episode_steps": 12}
    assert np.all(loaded.evaluate_episodes(6, deterministic=False) <= 12)
    # the default task lasts longer than 12 steps for a random policy, sometimes
    plain = Agent("ppo", "CartPole-v1", vectorization="sync", **SMALL)
    assert np.max(plain.evaluate_episodes(16, deterministic=False)) > 12


@needs_envpool
def test_envpool_takes_gymnasium_spelling_or_auto_falls_back_to_gymnasium() -> None:
    assert resolve_backend("CartPole-v1", "auto", 8, None, {"max_episode_steps": 12}) == "envpool"
    envs = make_host_env("CartPole-v1", 8, "envpool", env_kwargs={"max_episode_steps": 5})
    try:  # the pole needs ~8 steps to fall: every episode is cut at 5, none earlier
        envs.reset(0)
        done = [envs.step(np.ones(8, np.int64)) for _ in range(5)]
        assert not any((o.terminated | o.truncated).any() for o in done[:4])
        assert done[4].truncated.all() and not done[4].terminated.any()
    finally:
        envs.close()
    # Ant-v5's contact forces: 78 of its 105 observation dims; EnvPool says use_contact_force
    ant = make_host_env(
        "Ant-v5", 8, "envpool", env_kwargs={"include_cfrc_ext_in_observation": False}
    )
    assert ant.obs_shape == (27,)
    ant.close()
    # an argument EnvPool's env does not take: "auto" uses Gymnasium's, "envpool" refuses
    assert resolve_backend("CartPole-v1", "auto", 8, None, {"sutton_barto_reward": True}) == "sync"
    with pytest.raises(ConfigError, match=r"env_kwargs: EnvPool's 'CartPole-v1' cannot take"):
        resolve_backend("CartPole-v1", "envpool", 8, None, {"sutton_barto_reward": True})


def test_envpool_translation_table() -> None:
    keys = ["use_contact_force", "healthy_z_min", "healthy_z_max", "ctrl_cost_weight", "xml_file"]
    assert envpool_kwargs({"include_cfrc_ext_in_observation": False}, keys) == {
        "use_contact_force": False
    }
    assert envpool_kwargs({"healthy_z_range": (0.3, 1.2), "ctrl_cost_weight": 0.1}, keys) == {
        "healthy_z_min": 0.3,
        "healthy_z_max": 1.2,
        "ctrl_cost_weight": 0.1,
    }
    assert envpool_kwargs({"xml_file": "ant.xml"}, keys) is None  # a path in Gymnasium
    assert envpool_kwargs({"healthy_z_range": (0.3,)}, keys) is None
    assert envpool_kwargs({"frame_skip": 2}, keys) is None


def test_an_argument_gymnasium_does_not_take_fails_before_training() -> None:
    with pytest.raises(ConfigError, match=r"env_kwargs: 'Pendulum-v1' does not take"):
        Agent("ppo", "Pendulum-v1", vectorization="sync", env_kwargs={"gravity": 5.0}, **SMALL)
    agent = Agent("ppo", "Pendulum-v1", vectorization="sync", env_kwargs={"g": 5.0}, **SMALL)
    assert agent.trainer.envs.envs.envs[0].unwrapped.g == 5.0  # type: ignore[attr-defined]


def test_compiled_level_takes_envparams_and_names_the_valid_ones() -> None:
    spec = RunSpec("ppo", "CartPole-v1", overrides={"env_kwargs": {"max_steps_in_episode": 20}})
    assert spec.check().env_kwargs == {"max_steps_in_episode": 20}
    bad = RunSpec("ppo", "CartPole-v1", overrides={"env_kwargs": {"max_steps": 20}})
    with pytest.raises(ConfigError, match="max_steps_in_episode"):
        bad.check()


def test_compiled_run_caps_episodes_and_exports_no_gymnasium_agent(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app,
        ["train", "ppo", "CartPole-v1", "--steps", "2048", "--env-kwarg",
         "max_steps_in_episode=15", "--runs-dir", str(tmp_path), "--name", "r",
         "--set", "num_envs=4", "--set", "num_steps=64", "--set", "batch_size=64"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    run = tmp_path / "r"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["env_kwargs"] == {"max_steps_in_episode": 15}
    assert json.loads((run / "summary.json").read_text())["eval_mean_return"] <= 15
    assert not list((run / "checkpoints").glob("*.ckpt"))  # gymnax params ≠ gym.make's


def test_suite_env_kwargs_reach_every_cell_and_bad_ones_name_the_key() -> None:
    raw = {
        "name": "t",
        "recipes": ["ppo", "trpo"],
        "level": "compiled",
        "envs": {
            "CartPole-v1": {
                "steps": 2048,
                "score_range": [0.0, 1.0],
                "env_kwargs": {"max_steps_in_episode": 100},
            }
        },
    }
    cells = Suite.from_dict(raw).cells()
    assert all(c.spec.config().env_kwargs == {"max_steps_in_episode": 100} for c in cells)
    raw["envs"]["CartPole-v1"]["env_kwargs"] = {"max_steps_in_episode": [object()]}
    with pytest.raises(ConfigError, match=r"envs\.CartPole-v1\.env_kwargs"):
        Suite.from_dict(raw)


def test_env_kwargs_round_trip_as_text() -> None:
    kw = EnvKwargs.coerce("x", "env_kwargs", {"b": [1, 2], "a": None})
    assert list(kw) == ["a", "b"] and kw == {"a": None, "b": (1, 2)}
    assert EnvKwargs.coerce("x", "env_kwargs", json.dumps(kw)) == kw
