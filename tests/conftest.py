"""Shared test configuration and two tiny Gymnasium environments registered for the tests."""

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=30, deadline=None)
settings.load_profile("ci")


class MultiDiscreteEnv(gym.Env):
    """A registered env with an action space no recipe supports."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.MultiDiscrete([2, 3])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(3, np.float32), {}

    def step(self, action):
        return np.zeros(3, np.float32), 0.0, True, False, {}


class TargetEnv(gym.Env):
    """A user's own continuous-control env (Gymnasium only): move a point to 0, 50 steps."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}  # noqa: RUF012
    observation_space = gym.spaces.Box(-10.0, 10.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def render(self):
        frame = np.zeros((32, 64, 3), np.uint8)
        frame[12:20, int(np.clip(32 + 3 * self.x[0], 0, 63))] = 255
        return frame

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = self.np_random.uniform(-3, 3, size=1).astype(np.float32)
        return self.x.copy(), {}

    def step(self, action):
        self.x = np.clip(self.x + 0.3 * np.clip(action, -1, 1), -10, 10).astype(np.float32)
        return self.x.copy(), -float(abs(self.x[0])), False, False, {}


for _id, _cls, _kw in (
    ("policyopt-test/MultiDiscrete-v0", MultiDiscreteEnv, {}),
    ("policyopt-test/Target-v0", TargetEnv, {"max_episode_steps": 50}),
):
    if _id not in gym.registry:
        gym.register(_id, entry_point=_cls, **_kw)


@pytest.fixture
def interrupt_update(monkeypatch):
    """``interrupt_update(n)``: the host loop's n-th update (counted over every seed of the
    test) raises KeyboardInterrupt, as a Ctrl-C would; returns ``restore()``, which puts the
    real update back so the run can be resumed."""
    from policyopt.host import HostTrainer

    original = HostTrainer.start_update  # where every update begins (Agent.learn, lockstep)

    def arm(n: int):
        calls = {"n": 0}

        def interrupted(self, state):
            calls["n"] += 1
            if calls["n"] == n:
                raise KeyboardInterrupt
            return original(self, state)

        monkeypatch.setattr(HostTrainer, "start_update", interrupted)
        return lambda: monkeypatch.setattr(HostTrainer, "start_update", original)

    return arm
