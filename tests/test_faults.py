"""Fault injection on every host backend: an environment that raises, returns NaN or hangs.

At a random step (drawn from a fixed seed per case, printed in failures) the environment
misbehaves; the run must stop with a clear error naming the environment (and, for NaN, the
quantity, step and env index) and leave its last segment checkpoint intact, and the same
agent or a resumed one must be able to go on once the fault is gone.

Backends: a *user's* Gymnasium env runs on Gymnasium sync and async only (EnvPool runs only
its own C++ environments and gymnax only registered JAX ones), so faults from inside an env
are tested there (``faulty_env.py``). Faults on EnvPool and gymnax (and again on
sync/async) are injected at the vector-env boundary, which is where the host loop checks.
Hangs: only the async backend can time out (``step_timeout``); a sync env runs in this
process, and EnvPool/gymnax have no per-step timeout, so ``step_timeout`` is refused there.
"""

import time
import zlib
from pathlib import Path

import jax
import numpy as np
import pytest

from faulty_env import ENV_ID, FAULT_VAR
from policyopt.agent import Agent
from policyopt.checkpoint import read_checkpoint
from policyopt.errors import ConfigError
from policyopt.faults import EnvError, EnvTimeoutError, NonFiniteError

NUM_STEPS = 16  # each env instance steps NUM_STEPS times per update
UPDATES = 8
EVERY = 2  # checkpoint segment (updates)
KW = {"num_envs": 2, "num_steps": NUM_STEPS, "batch_size": 16, "n_epochs": 1}
TOTAL = KW["num_envs"] * NUM_STEPS * UPDATES

# Gymnasium's async vector env logs a worker's traceback as a UserWarning: expected here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:gymnasium.vector.async_vector_env")


def random_step(case: str, low: int = NUM_STEPS + 1, high: int = NUM_STEPS * UPDATES) -> int:
    """A step in ``[low, high)`` drawn from a seed fixed per case (reproducible failures)."""
    return int(np.random.default_rng(zlib.crc32(case.encode())).integers(low, high))


def _check_last_checkpoint(ckpt: Path, failed_update: int) -> None:
    """The checkpoint is the last segment's, before the failure, and loads with finite params."""
    meta, _ = read_checkpoint(ckpt)
    assert meta["update"] == failed_update - failed_update % EVERY, (meta["update"], failed_update)
    restored = Agent.load(ckpt, checkpoint_path=None)
    leaves = jax.tree.leaves(restored.state.learner)
    assert all(np.isfinite(np.asarray(x)).all() for x in leaves)


# --------------------------------------------------------------------------- a user's env


@pytest.mark.parametrize(
    ("backend", "kind"),
    [
        ("sync", "raise"),
        ("sync", "nan_reward"),
        ("sync", "nan_obs"),
        ("async", "raise"),
        ("async", "nan_reward"),
        ("async", "hang"),
    ],
)
def test_a_users_env_that_fails_at_a_random_step_stops_with_its_checkpoint_intact(
    backend: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = random_step(f"{backend}-{kind}")
    update, step = (at - 1) // NUM_STEPS, (at - 1) % NUM_STEPS
    monkeypatch.setenv(FAULT_VAR, f"{kind}:{at}")  # async workers inherit it when spawned
    ckpt = tmp_path / "run.ckpt"
    timeout = 2.0 if backend == "async" else None
    agent = Agent(
        "ppo", ENV_ID, vectorization=backend, checkpoint_path=ckpt, checkpoint_every=EVERY,
        step_timeout=timeout, **KW,
    )  # fmt: skip
    expected = {
        "raise": (EnvError, rf"simulated crash at step {at}"),
        "hang": (EnvTimeoutError, r"no answer from step\(\) within step_timeout=2 s"),
        "nan_reward": (NonFiniteError, r"non-finite reward from environment"),
        "nan_obs": (NonFiniteError, r"non-finite observation from environment"),
    }[kind]
    t0 = time.perf_counter()
    with pytest.raises(expected[0], match=expected[1]) as info:
        agent.learn(TOTAL)
    err, msg = info.value, str(info.value)
    assert ENV_ID in msg, msg
    if isinstance(err, EnvError):
        assert f"({backend} backend) at step {step} of update {update}" in msg, (at, msg)
    else:
        assert (err.update, err.step, err.env_id) == (update, step, ENV_ID), (at, msg)
        assert err.env_index == 0 and "env index 0" in msg
    if kind == "hang":
        assert time.perf_counter() - t0 < 45, "the 60 s hang was cut by the timeout"
    assert agent.state.update == update, "the agent keeps its last good state"
    _check_last_checkpoint(ckpt, update)
    # Recovery: once the environment is healthy, the same agent goes on (fresh vector env;
    # for async, fresh worker processes) and finishes the run.
    monkeypatch.delenv(FAULT_VAR)
    agent.learn(TOTAL)
    assert agent.state.update == UPDATES
    assert read_checkpoint(ckpt)[0]["update"] == UPDATES


def test_resume_after_a_fault_reproduces_the_run_that_never_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept checkpoint is a real segment checkpoint: resuming it is exact."""
    at = random_step("resume")
    monkeypatch.setenv(FAULT_VAR, f"nan_reward:{at}")
    ckpt = tmp_path / "run.ckpt"
    kw = {"seed": 7, "checkpoint_every": EVERY, **KW}
    with pytest.raises(NonFiniteError):
        Agent("ppo", ENV_ID, checkpoint_path=ckpt, **kw).learn(TOTAL)
    monkeypatch.delenv(FAULT_VAR)
    resumed = Agent.load(ckpt).learn(TOTAL, resume=True)
    full = Agent("ppo", ENV_ID, **kw).learn(TOTAL)
    np.testing.assert_equal(resumed.history, full.history)  # NaN (no episode ended yet) == NaN


# --------------------------------------------------------------------------- every backend


class _Injector:
    """Wraps a host vector env; at its ``at``-th step it raises or returns a NaN reward."""

    def __init__(self, envs, kind: str, at: int, index: int) -> None:
        self.envs, self.kind, self.at, self.index, self.n = envs, kind, at, index, 0

    def __getattr__(self, name: str):
        return getattr(self.envs, name)

    def reset(self, seed: int) -> np.ndarray:
        return self.envs.reset(seed)

    def step(self, action: np.ndarray):
        out = self.envs.step(action)
        self.n += 1
        if self.n == self.at:
            if self.kind == "raise":
                raise OSError("injected fault")
            reward = np.array(out.reward)
            reward[self.index] = np.nan
            out = out._replace(reward=reward)
        return out


@pytest.mark.parametrize("backend", ["sync", "async", "envpool", "gymnax"])
@pytest.mark.parametrize("kind", ["raise", "nan_reward"])
def test_every_backend_names_the_env_and_keeps_the_checkpoint(
    backend: str, kind: str, tmp_path: Path
) -> None:
    at = random_step(f"inject-{backend}-{kind}")
    index = random_step(f"index-{backend}-{kind}", 0, KW["num_envs"])
    update, step = (at - 1) // NUM_STEPS, (at - 1) % NUM_STEPS
    ckpt = tmp_path / "run.ckpt"
    agent = Agent(
        "ppo", "CartPole-v1", vectorization=backend, checkpoint_path=ckpt,
        checkpoint_every=EVERY, **KW,
    )  # fmt: skip
    assert agent.trainer.backend == backend
    agent.trainer.envs = _Injector(agent.trainer.envs, kind, at, index)
    error = EnvError if kind == "raise" else NonFiniteError
    with pytest.raises(error) as info:
        agent.learn(TOTAL)
    msg = str(info.value)
    assert "'CartPole-v1'" in msg, msg
    if kind == "raise":
        assert f"({backend} backend) at step {step} of update {update}: OSError: injected" in msg
    else:
        err = info.value
        assert (err.quantity, err.update, err.step, err.env_index) == (
            "reward",
            update,
            step,
            index,
        ), (at, msg)
    _check_last_checkpoint(ckpt, update)
    agent.learn(TOTAL)  # the failed vector env was replaced by a fresh one
    assert agent.state.update == UPDATES


def test_step_timeout_needs_the_async_backend() -> None:
    agent = Agent("ppo", ENV_ID, step_timeout=5.0, **KW)
    assert agent.settings["vectorization"] == "async"  # "auto" picks the backend that can
    agent.trainer.envs.close()
    for backend in ("sync", "envpool", "gymnax"):
        env = ENV_ID if backend == "sync" else "CartPole-v1"
        with pytest.raises(ConfigError, match=r"step_timeout: needs vectorization 'async'"):
            Agent("ppo", env, vectorization=backend, step_timeout=5.0, **KW)
    with pytest.raises(ConfigError, match=r"step_timeout: must be in \(0, inf\)"):
        Agent("ppo", ENV_ID, vectorization="async", step_timeout=-1, **KW)
