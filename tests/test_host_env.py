"""Host vector environments: one reset semantics (same step) on every backend."""

import numpy as np
import pytest

from policyopt.envs.host_env import envpool_ids, make_host_env, resolve_backend
from policyopt.errors import ConfigError

BACKENDS = ["envpool", "sync", "gymnax"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_pendulum_truncates_at_200_and_reports_the_final_observation(backend: str) -> None:
    """Pendulum-v1 never terminates and truncates at step 200 in every implementation."""
    envs = make_host_env("Pendulum-v1", 3, backend)
    obs = envs.reset(7)
    assert obs.shape == (3, 3) and envs.action_spec.n == 1
    rng = np.random.default_rng(0)
    for t in range(1, 401):
        out = envs.step(rng.uniform(-2, 2, size=(3, 1)).astype(np.float32))
        assert not out.terminated.any()
        if t % 200:
            assert not out.truncated.any()
            np.testing.assert_array_equal(out.obs, out.final_obs)
        else:
            assert out.truncated.all(), t
            # the final observation is the episode's last, the next one a fresh reset
            assert not np.allclose(out.obs, out.final_obs)
            np.testing.assert_allclose(np.hypot(out.obs[:, 0], out.obs[:, 1]), 1.0, atol=1e-5)
    envs.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_cartpole_terminations_reset_in_the_same_step(backend: str) -> None:
    envs = make_host_env("CartPole-v1", 4, backend)
    envs.reset(1)
    ended = 0
    for _ in range(300):
        out = envs.step(np.zeros(4, np.int32))  # always push left: falls within ~10 steps
        done = out.terminated | out.truncated
        ended += int(done.sum())
        # reset states are near the origin; terminal ones are past a threshold
        assert np.all(np.abs(out.obs[done]) <= 0.05)
        assert np.all(
            (np.abs(out.final_obs[done, 0]) > 2.4)
            | (np.abs(out.final_obs[done, 2]) > 12 * 2 * np.pi / 360)
        )
        np.testing.assert_array_equal(out.obs[~done], out.final_obs[~done])
    assert ended >= 4 * 300 // 12
    envs.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_seed_is_reproducible(backend: str) -> None:
    envs = make_host_env("CartPole-v1", 4, backend)
    a, b, c = envs.reset(3), envs.reset(3), envs.reset(4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len({tuple(row) for row in a.tolist()}) == 4  # environments differ from each other


def test_auto_backend_prefers_envpool_then_gymnasium_then_gymnax() -> None:
    assert "LunarLander-v3" in envpool_ids()
    assert resolve_backend("LunarLander-v3", num_envs=16) == "envpool"
    assert resolve_backend("LunarLander-v3", num_envs=2) == "sync"  # EnvPool's call overhead
    assert resolve_backend("policyopt-test/Target-v0") == "sync"  # Gymnasium only
    assert resolve_backend("FourRooms-misc") == "gymnax"
    assert resolve_backend("CartPole-v1", "async") == "async"
    with pytest.raises(ConfigError, match=r"EnvPool has no 'policyopt-test/Target-v0'"):
        resolve_backend("policyopt-test/Target-v0", "envpool")


def test_auto_backend_keeps_envpool_when_gymnasiums_env_cannot_be_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A few envs would pick Gymnasium, but where its extra is missing (e.g. MuJoCo) and EnvPool
    has the id, "auto" takes EnvPool (the mujoco suite's 1-env HalfCheetah preset in a CI
    without MuJoCo); an explicit Gymnasium backend still names the extra to install."""
    from policyopt.envs import host_env

    def missing(env_id: str) -> None:
        raise ConfigError("env", "env_id", f"{env_id!r} needs packages that are not installed")

    monkeypatch.setattr(host_env, "check_env_dependencies", missing)
    host_env._gym_can_make.cache_clear()
    try:
        assert resolve_backend("LunarLander-v3", num_envs=2) == "envpool"
        with pytest.raises(ConfigError, match="not installed"):
            resolve_backend("LunarLander-v3", "sync", num_envs=2)
    finally:
        host_env._gym_can_make.cache_clear()


def test_async_backend_matches_sync_backend() -> None:
    sync, asyn = make_host_env("CartPole-v1", 2, "sync"), make_host_env("CartPole-v1", 2, "async")
    np.testing.assert_array_equal(sync.reset(9), asyn.reset(9))
    for t in range(50):
        action = np.array([t % 2, (t // 3) % 2], np.int32)
        a, b = sync.step(action), asyn.step(action)
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
    sync.close()
    asyn.close()
