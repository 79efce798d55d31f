"""A user's Gymnasium env that fails on purpose, for the fault-injection tests.

Kept apart from the test modules and light (NumPy and Gymnasium only) because the async
backend's worker processes import it by reference when they build the env.

The fault comes from the environment variable ``POLICYOPT_TEST_FAULT="<kind>:<step>"``, read
when the env is built (worker processes inherit it when they start): at its ``step``-th call
to ``step`` (counted from construction, across episodes) the env raises (``raise``), returns
a NaN reward (``nan_reward``), a NaN observation (``nan_obs``) or sleeps for a minute
(``hang``). Without the variable it is a healthy point-mass task.
"""

from __future__ import annotations

import os
import time

import gymnasium as gym
import numpy as np

FAULT_VAR = "POLICYOPT_TEST_FAULT"
ENV_ID = "policyopt-test/Faulty-v0"


class FaultyEnv(gym.Env):
    """Move a point to 0 (1-D Box obs and actions); fails as ``POLICYOPT_TEST_FAULT`` says."""

    observation_space = gym.spaces.Box(-10.0, 10.0, (1,), np.float32)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self) -> None:
        kind, _, at = os.environ.get(FAULT_VAR, "").partition(":")
        self.kind, self.at = kind, int(at or 0)
        self.steps = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = self.np_random.uniform(-3, 3, size=1).astype(np.float32)
        return self.x.copy(), {}

    def step(self, action):
        self.steps += 1
        self.x = np.clip(self.x + 0.3 * np.clip(action, -1, 1), -10, 10).astype(np.float32)
        obs, reward = self.x.copy(), -float(abs(self.x[0]))
        if self.kind and self.steps == self.at:
            if self.kind == "raise":
                raise RuntimeError(f"simulated crash at step {self.steps}")
            if self.kind == "hang":
                time.sleep(60)
            if self.kind == "nan_reward":
                reward = float("nan")
            if self.kind == "nan_obs":
                obs[:] = np.nan
        return obs, reward, False, False, {}


def register() -> None:
    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point=FaultyEnv, max_episode_steps=50)


register()
