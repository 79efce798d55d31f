"""The Gymnasium host loop, the SB3-style Agent and pickle-free checkpoints."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import msgpack
import numpy as np
import pytest

from policyopt.agent import Agent
from policyopt.checkpoint import CheckpointError, read_checkpoint
from policyopt.errors import ConfigError

SMALL = {"num_envs": 2, "num_steps": 32, "batch_size": 32, "n_epochs": 2}


def test_agent_learns_cartpole_and_predicts_with_sb3_signature() -> None:
    agent = Agent(
        "ppo",
        "CartPole-v1",
        seed=0,
        num_envs=8,
        num_steps=32,
        batch_size=256,
        n_epochs=20,
        gamma=0.98,
        gae_lambda=0.8,
        learning_rate=1e-3,
        anneal_lr=True,
    )
    agent.learn(60_000)
    mean, _ = agent.evaluate(5)
    assert mean >= 200, mean
    obs = np.zeros((3, 4), np.float32)
    actions, state = agent.predict(
        obs, state=None, episode_start=np.ones(3, bool), deterministic=True
    )
    assert actions.shape == (3,) and state is None
    single, _ = agent.predict(obs[0], deterministic=True)
    assert np.ndim(single) == 0
    for key in (
        "rollout/ep_rew_mean",
        "train/kl_forward",
        "train/clip_fraction",
        "time/total_timesteps",
    ):
        assert key in agent.history[-1]


def test_continuous_actions_are_clipped_to_bounds() -> None:
    agent = Agent("trpo", "Pendulum-v1", num_envs=2, num_steps=64, vf_batch_size=64, vf_epochs=1)
    agent.learn(128)
    actions, _ = agent.predict(np.random.default_rng(0).normal(size=(50, 3)) * 10)
    assert actions.shape == (50, 1) and np.all(np.abs(actions) <= 2.0)


def test_callback_can_stop_training() -> None:
    agent = Agent("ppo", "CartPole-v1", **SMALL)
    calls = []
    agent.learn(64 * 10, callback=lambda m: calls.append(m) or len(calls) < 3)
    assert len(calls) == 3 and agent.num_timesteps == 3 * 64


def test_bad_input_fails_before_any_environment() -> None:
    with pytest.raises(ConfigError, match=r"PPOConfig\.clip_eps"):
        Agent("ppo", "CartPole-v1", clip_eps=-1)
    with pytest.raises(ConfigError, match=r"unknown environment id 'CartPol-v1'.*'CartPole-v1'"):
        Agent("ppo", "CartPol-v1")
    with pytest.raises(ConfigError, match=r"LunarLandr-v3.*did you mean 'LunarLander-v3'"):
        Agent("trpo", "LunarLandr-v3")
    with pytest.raises(ConfigError, match=r"observation_space: Discrete"):
        Agent("ppo", "FrozenLake-v1")
    with pytest.raises(ConfigError, match=r"action_space: MultiDiscrete"):
        Agent("ppo", "policyopt-test/MultiDiscrete-v0")
    with pytest.raises(ConfigError, match=r"vectorization: got 'threads'; allowed: auto, envpool"):
        Agent("ppo", "CartPole-v1", vectorization="threads")
    with pytest.raises(ConfigError, match=r"'Asterix-MinAtar' is not a Gymnasium id"):
        Agent("ppo", "Asterix-MinAtar", vectorization="sync")
    with pytest.raises(ConfigError, match=r"observation_space: Box\(10, 10, 4\)"):
        Agent("ppo", "Asterix-MinAtar")
    with pytest.raises(ConfigError, match=r"checkpoint_every: must be an integer >= 1"):
        Agent("ppo", "CartPole-v1", checkpoint_every=0)


def test_save_load_roundtrip_and_normalisation_saved(tmp_path: Path) -> None:
    agent = Agent("ppo", "CartPole-v1", normalize_obs=True, normalize_reward=True, **SMALL)
    agent.learn(128)
    path = agent.save(tmp_path / "agent.ckpt")
    loaded = Agent.load(path)
    obs = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        agent.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0]
    )
    np.testing.assert_allclose(loaded.state.obs_rms.mean, agent.state.obs_rms.mean)
    assert loaded.num_timesteps == agent.num_timesteps and loaded.history == agent.history


def test_corrupted_truncated_and_wrong_version_checkpoints(tmp_path: Path) -> None:
    agent = Agent("ppo", "CartPole-v1", **SMALL)
    path = agent.save(tmp_path / "a.ckpt")
    blob = path.read_bytes()
    (tmp_path / "trunc.ckpt").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        Agent.load(tmp_path / "trunc.ckpt")
    payload = msgpack.unpackb(blob, raw=False)
    payload["version"] = 99
    (tmp_path / "v99.ckpt").write_bytes(msgpack.packb(payload, use_bin_type=True))
    with pytest.raises(CheckpointError, match="format version 99"):
        Agent.load(tmp_path / "v99.ckpt")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        Agent.load(tmp_path / "missing.ckpt")


def test_crafted_pickle_file_never_executes(tmp_path: Path) -> None:
    """A pickle payload that would create a file if unpickled is only ever read as data."""
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "evil.ckpt").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError):
        read_checkpoint(tmp_path / "evil.ckpt")
    payload = {
        "format": "policyopt-checkpoint",
        "version": 1,
        "meta": "{}",
        "state": pickle.dumps(Evil()),
    }
    (tmp_path / "evil2.ckpt").write_bytes(msgpack.packb(payload, use_bin_type=True))
    with pytest.raises(CheckpointError):
        read_checkpoint(tmp_path / "evil2.ckpt")
    assert not marker.exists()


CHILD = """
import os, signal, sys
from policyopt.agent import Agent
agent = Agent("ppo", "CartPole-v1", seed=3, checkpoint_path=sys.argv[1], checkpoint_every=3,
              num_envs=2, num_steps=32, batch_size=32, n_epochs=2)
def cb(m):
    if agent.state.update == 7:  # last checkpoint was written at update 6
        os.kill(os.getpid(), signal.SIGKILL)
agent.learn(64 * 12, callback=cb)
"""


def test_sigkill_then_resume_reproduces_the_uninterrupted_run(tmp_path: Path) -> None:
    ckpt = tmp_path / "run.ckpt"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(ckpt)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    meta, _ = read_checkpoint(ckpt)
    assert meta["update"] == 6
    resumed = Agent.load(ckpt)
    resumed.learn(64 * 12, resume=True)
    full = Agent(
        "ppo",
        "CartPole-v1",
        seed=3,
        checkpoint_every=3,
        num_envs=2,
        num_steps=32,
        batch_size=32,
        n_epochs=2,
    )
    full.learn(64 * 12)
    assert len(resumed.history) == len(full.history) == 12
    for a, b in zip(resumed.history, full.history, strict=True):
        assert a == b
    obs = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        resumed.predict(obs, deterministic=True)[0], full.predict(obs, deterministic=True)[0]
    )


def test_sb3_evaluate_policy_works_on_an_agent_unchanged() -> None:
    from stable_baselines3.common.evaluation import evaluate_policy

    agent = Agent("ppo", "CartPole-v1", **SMALL)
    agent.learn(128)
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    rewards, lengths = evaluate_policy(
        agent, env, n_eval_episodes=4, deterministic=True, return_episode_rewards=True
    )
    assert len(rewards) == 4 and all(r == ln for r, ln in zip(rewards, lengths, strict=True))
    mean, _ = evaluate_policy(agent, env, n_eval_episodes=3)
    assert 5 <= mean <= 500


@pytest.mark.parametrize("backend", ["envpool", "sync", "gymnax"])
def test_same_seed_same_numbers_on_every_backend(backend: str) -> None:
    runs = []
    for _ in range(2):
        agent = Agent("ppo", "CartPole-v1", seed=5, vectorization=backend, **SMALL)
        agent.learn(64 * 4)
        runs.append(agent.history)
    assert runs[0] == runs[1]
    assert agent.trainer.backend == backend


def test_a_users_own_gymnasium_env_learns() -> None:
    """A continuous env registered only with Gymnasium (conftest): TRPO moves the point to 0."""
    agent = Agent("trpo", "policyopt-test/Target-v0", num_envs=4, num_steps=100, vf_batch_size=100)
    assert agent.settings["vectorization"] == "sync"
    before, _ = agent.evaluate(8)
    agent.learn(40_000)
    after, _ = agent.evaluate(8)
    assert before < -60 and after > -20, (before, after)


def test_gymnax_only_ids_train_through_the_agent() -> None:
    agent = Agent("trpo", "FourRooms-misc", num_envs=4, num_steps=32, vf_batch_size=64)
    assert agent.settings["vectorization"] == "gymnax"
    agent.learn(128 * 2)
    assert np.isfinite(agent.history[-1]["train/kl_forward"])


def test_evaluate_runs_fresh_episodes_in_parallel() -> None:
    agent = Agent("ppo", "CartPole-v1", **SMALL)
    returns = agent.evaluate_episodes(6, seed=3)
    assert returns.shape == (6,) and np.all(returns >= 8) and np.all(returns <= 500)
    np.testing.assert_array_equal(returns, agent.evaluate_episodes(6, seed=3))


def test_record_writes_gif_and_mp4(tmp_path: Path) -> None:
    import imageio.v2 as imageio
    from PIL import Image

    agent = Agent("ppo", "CartPole-v1", **SMALL)
    gif = agent.record(tmp_path / "cp.gif", episodes=1)
    with Image.open(gif) as im:
        assert im.n_frames >= 9 and im.size == (600, 400)
    mp4 = agent.record(tmp_path / "cp.mp4", episodes=1)
    frames = imageio.mimread(mp4, memtest=False)
    assert len(frames) >= 9 and frames[0].shape == (400, 600, 3)
    with pytest.raises(ConfigError, match=r"suffix '.avi'; allowed: .gif, .mp4"):
        agent.record(tmp_path / "cp.avi")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp.gif", "cp.mp4"]  # no temp files


@pytest.mark.parametrize("missing", ["imageio", "imageio_ffmpeg"])
def test_mp4_without_the_video_extra_fails_before_any_episode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    """imageio alone (the mujoco extra brings it) cannot write MP4: the extra is named."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a)
    )
    agent = Agent("ppo", "CartPole-v1", **SMALL)
    monkeypatch.setattr(agent, "predict", lambda *a, **k: pytest.fail("an episode ran"))
    with pytest.raises(ConfigError, match=r"pip install 'policyopt\[video\]'"):
        agent.record(tmp_path / "cp.mp4")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_keeps_the_last_segment_checkpoint_and_resume_is_exact(tmp_path: Path) -> None:
    ckpt = tmp_path / "run.ckpt"
    kw = {"seed": 4, "checkpoint_every": 2, **SMALL}
    agent = Agent("ppo", "CartPole-v1", checkpoint_path=ckpt, **kw)

    def interrupt(metrics: dict) -> None:
        if agent.state.update == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        agent.learn(64 * 6, callback=interrupt)
    meta, _ = read_checkpoint(ckpt)
    assert meta["update"] == 2 and len(meta["history"]) == 2
    resumed = Agent.load(ckpt).learn(64 * 6, resume=True)
    full = Agent("ppo", "CartPole-v1", **kw).learn(64 * 6)
    assert resumed.history == full.history


def test_a_callback_stop_keeps_the_segment_checkpoint_and_resume_is_exact(
    tmp_path: Path,
) -> None:
    ckpt = tmp_path / "run.ckpt"
    kw = {"seed": 4, "checkpoint_every": 2, **SMALL}
    agent = Agent("ppo", "CartPole-v1", checkpoint_path=ckpt, **kw)
    agent.learn(64 * 6, callback=lambda m: agent.state.update != 3)
    assert agent.state.update == 3  # stopped where the callback said
    meta, _ = read_checkpoint(ckpt)
    assert meta["update"] == 2  # not overwritten with the mid-segment state
    resumed = Agent.load(ckpt).learn(64 * 6, resume=True)
    full = Agent("ppo", "CartPole-v1", **kw).learn(64 * 6)
    assert resumed.history == full.history


def test_host_update_compiles_once() -> None:
    """The jitted guarded update (batch preparation included) is traced once for the run."""
    agent = Agent("trpo", "CartPole-v1", num_envs=2, num_steps=32, vf_batch_size=32)
    agent.learn(64 * 4)
    assert agent.trainer._update._cache_size() == 1
