"""Checkpoints: integrity hash, meta and leaf verification, one atomic writer, stale temps.

Every way a checkpoint can lie (flipped bytes, a meta describing another env, network,
recipe or counters, arrays of the wrong shape or dtype) must end in ``CheckpointError``
naming the file and the field, or in exactly the arrays that were saved: never in silently
wrong parameters, and never in an error ``policyopt eval`` does not catch.
"""

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import msgpack
import numpy as np
import pytest
from flax import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from policyopt.agent import Agent
from policyopt.atomic import HOST_TAG, TMP_MARKER, atomic_write_text, clean_stale_temporaries
from policyopt.checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from policyopt.errors import ConfigError

TINY = {"num_envs": 2, "num_steps": 32, "batch_size": 32, "n_epochs": 1}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Agent, Path]:
    """A trained agent (optimiser moments, normalisation statistics) and its checkpoint."""
    agent = Agent("ppo", "CartPole-v1", normalize_obs=True, **TINY)
    agent.learn(128)
    return agent, agent.save(tmp_path_factory.mktemp("ckpt") / "agent.ckpt")


def _leaves(agent: Agent) -> dict[str, np.ndarray]:
    flat = jax.tree_util.tree_flatten_with_path(serialization.to_state_dict(agent._state_tree()))
    return {jax.tree_util.keystr(p): np.asarray(v) for p, v in flat[0]}


def _assert_same_agent(loaded: Agent, agent: Agent) -> None:
    a, b = _leaves(loaded), _leaves(agent)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    assert loaded.history == agent.history and loaded.state.update == agent.state.update


def _rewrite(
    src: Path,
    dst: Path,
    meta_fn: Callable[[dict[str, Any]], None] | None = None,
    state_fn: Callable[[dict[str, Any]], None] | None = None,
) -> Path:
    """A well-formed checkpoint (valid digest) whose meta or state lies."""
    meta, state = read_checkpoint(src)
    if meta_fn is not None:
        meta_fn(meta)
    if state_fn is not None:
        state_fn(state)
    return write_checkpoint(dst, meta, state)


# ----------------------------------------------------------------------------- integrity


def test_roundtrip_returns_exactly_the_saved_arrays(saved: tuple[Agent, Path]) -> None:
    agent, path = saved
    _assert_same_agent(Agent.load(path), agent)


def _check_flipped(saved: tuple[Agent, Path], tmp: Path, flips: list[tuple[int, int]]) -> None:
    agent, path = saved
    blob = bytearray(path.read_bytes())
    for pos, mask in flips:
        blob[pos % len(blob)] ^= mask
    tmp.write_bytes(bytes(blob))
    try:
        loaded = Agent.load(tmp)
    except CheckpointError:
        return  # refused: the only other acceptable outcome
    _assert_same_agent(loaded, agent)  # a flip that changed nothing that matters


_flips = st.lists(st.tuples(st.integers(0, 10**9), st.integers(1, 255)), min_size=1, max_size=16)


@settings(max_examples=60, deadline=None)
@given(flips=_flips)
def test_byte_flips_anywhere_are_refused_or_harmless(
    saved: tuple[Agent, Path], tmp_path_factory: pytest.TempPathFactory, flips: list
) -> None:
    _check_flipped(saved, tmp_path_factory.getbasetemp() / "flip_any.ckpt", flips)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 16))
def test_byte_flips_in_the_middle_of_the_arrays_are_refused(
    saved: tuple[Agent, Path], tmp_path_factory: pytest.TempPathFactory, data: Any, n: int
) -> None:
    size = saved[1].stat().st_size
    pos = st.integers(size // 4, 3 * size // 4)
    flips = data.draw(st.lists(st.tuples(pos, st.integers(1, 255)), min_size=n, max_size=n))
    _check_flipped(saved, tmp_path_factory.getbasetemp() / "flip_mid.ckpt", flips)


def test_a_weight_flipped_to_nan_is_refused_by_the_integrity_check(
    saved: tuple[Agent, Path], tmp_path: Path
) -> None:
    agent, path = saved
    kernel = np.asarray(agent.state.learner.actor["params"]["Dense_0"]["kernel"])
    blob = path.read_bytes()
    at = blob.index(kernel.tobytes())
    nan = np.float32(np.nan).tobytes()
    (tmp_path / "nan.ckpt").write_bytes(blob[:at] + nan + blob[at + 4 :])
    with pytest.raises(CheckpointError, match="integrity check failed"):
        Agent.load(tmp_path / "nan.ckpt")


def test_old_format_version_has_a_clear_error(saved: tuple[Agent, Path], tmp_path: Path) -> None:
    header = msgpack.unpackb(saved[1].read_bytes(), raw=False)
    v1 = {"format": "policyopt-checkpoint", "version": 1, "meta": "{}", "state": b""}
    (tmp_path / "v1.ckpt").write_bytes(msgpack.packb(v1, use_bin_type=True))
    with pytest.raises(CheckpointError, match=r"format version 1; this policyopt reads 2.*older"):
        Agent.load(tmp_path / "v1.ckpt")
    assert header["version"] == 2 and len(header["sha256"]) == 64


def test_a_well_hashed_pickle_is_still_never_executed(tmp_path: Path) -> None:
    """The digest is not a signature: a crafted file with a valid digest is still only data."""
    import hashlib
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    body = msgpack.packb({"meta": "{}", "state": pickle.dumps(Evil())}, use_bin_type=True)
    header = {"format": "policyopt-checkpoint", "version": 2, "body": body,
              "sha256": hashlib.sha256(body).hexdigest()}  # fmt: skip
    (tmp_path / "evil.ckpt").write_bytes(msgpack.packb(header, use_bin_type=True))
    with pytest.raises(CheckpointError):
        Agent.load(tmp_path / "evil.ckpt")
    assert not marker.exists()


# ----------------------------------------------------------------------------- meta and leaves


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def fn(meta: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        d = meta
        for p in parents:
            d = d[p]
        d[last] = value

    return fn


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def fn(meta: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        d = meta
        for p in parents:
            d = d[p]
        del d[last]

    return fn


def _other_env(meta: dict[str, Any]) -> None:
    meta["env_id"] = meta["config"]["env_id"] = "Acrobot-v1"


def _trpo(meta: dict[str, Any]) -> None:
    """A meta that claims TRPO with a valid TRPO config: the PPO arrays must not fit it."""
    trpo = Agent("trpo", "CartPole-v1", num_envs=2, num_steps=32, vf_batch_size=32)
    meta["algo"], meta["config"] = "trpo", trpo.identity()["config"]


META_LIES = {
    "env_id only": (_set("env_id", "Acrobot-v1"), r"meta\.config\.env_id: 'CartPole-v1'"),
    "another env": (_other_env, r"state\.learner\.actor\.params\.Dense_0\.kernel: shape \(4, 64\)"),
    "network size": (
        _set("config.hidden_sizes", [32, 32]),
        r"state\.learner\.actor\.params\.Dense_0\.kernel: shape \(4, 64\).*\(4, 32\)",
    ),
    "algo, config of ppo": (_set("algo", "trpo"), r"meta\.config: .*recipe 'trpo': .*clip_eps"),
    "algo, config of trpo": (_trpo, r"state\.learner\..*(missing|unexpected|shape)"),
    "unknown algo": (_set("algo", "sac"), r"meta\.algo: unknown recipe 'sac'"),
    "bad config value": (_set("config.clip_eps", 5.0), r"meta\.config\.clip_eps: .*clip_eps"),
    "missing settings": (_delete("settings"), r"meta\.settings: missing"),
    "missing settings key": (
        _delete("settings.normalize_obs"),
        r"meta\.settings\.normalize_obs: missing",
    ),
    "normalisation off": (_set("settings.normalize_obs", False), r"state: unexpected obs_rms"),
    "negative update": (_set("update", -5), r"meta\.update: must be >= 0, got -5"),
    "bool update": (_set("update", True), r"meta\.update: expected int, got True"),
    "update vs history": (_set("update", 3), r"meta\.history: 2 entries but meta\.update is 3"),
    "string seed": (_set("seed", "0"), r"meta\.seed: expected int"),
    "negative seed": (_set("seed", -1), r"meta\.seed: must be in \[0, 4294967295\]"),
    "checkpoint_every 0": (
        _set("settings.checkpoint_every", 0),
        r"meta\.settings\.checkpoint_every: must be >= 1",
    ),
    "history rows": (_set("history", ["x", "y"]), r"meta\.history\[0\]"),
    "train seconds": (_set("train_seconds", -1.0), r"meta\.train_seconds"),
    "missing config field": (
        _delete("config.learning_rate"),
        r"meta\.config: missing learning_rate",
    ),
}


@pytest.mark.parametrize("case", list(META_LIES))
def test_a_lying_meta_is_refused_naming_the_field(
    saved: tuple[Agent, Path], tmp_path: Path, case: str
) -> None:
    fn, pattern = META_LIES[case]
    path = _rewrite(saved[1], tmp_path / "lie.ckpt", meta_fn=fn)
    with pytest.raises(CheckpointError, match=pattern) as info:
        Agent.load(path)
    assert not isinstance(info.value, ConfigError | KeyError)
    assert str(path) in str(info.value)


def _cast_kernel(state: dict[str, Any]) -> None:
    k = state["learner"]["critic"]["params"]["Dense_1"]
    k["kernel"] = k["kernel"].astype(np.float64)


def _reshape_bias(state: dict[str, Any]) -> None:
    b = state["learner"]["actor"]["params"]["Dense_2"]
    b["bias"] = np.zeros((3,), np.float32)


def _drop_leaf(state: dict[str, Any]) -> None:
    del state["learner"]["critic"]["params"]["Dense_0"]["bias"]


def _extra_leaf(state: dict[str, Any]) -> None:
    state["learner"]["extra"]["beta"] = np.float32(1.0)


def _scalar_for_array(state: dict[str, Any]) -> None:
    state["key"] = 7


def _long_window(state: dict[str, Any]) -> None:
    state["episode_returns"] = np.zeros(101)
    state["episode_lengths"] = np.zeros(101, np.int64)


def _mismatched_window(state: dict[str, Any]) -> None:
    state["episode_lengths"] = np.zeros(len(state["episode_returns"]) + 1, np.int64)


STATE_LIES = {
    "dtype": (_cast_kernel, r"state\.learner\.critic\.params\.Dense_1\.kernel: .*float64.*float32"),
    "shape": (_reshape_bias, r"state\.learner\.actor\.params\.Dense_2\.bias: shape \(3,\)"),
    "missing leaf": (_drop_leaf, r"state\.learner\.critic\.params\.Dense_0: missing bias"),
    "extra leaf": (_extra_leaf, r"state\.learner\.extra: unexpected beta"),
    "scalar for array": (_scalar_for_array, r"state\.key: expected a uint32 array"),
    "episode window": (_long_window, r"state\.episode_returns: .*at most 100"),
    "window lengths": (_mismatched_window, r"episode_returns has \d+ entries"),
}


@pytest.mark.parametrize("case", list(STATE_LIES))
def test_arrays_that_do_not_fit_the_meta_are_refused_naming_the_leaf(
    saved: tuple[Agent, Path], tmp_path: Path, case: str
) -> None:
    fn, pattern = STATE_LIES[case]
    path = _rewrite(saved[1], tmp_path / "lie.ckpt", state_fn=fn)
    with pytest.raises(CheckpointError, match=pattern):
        Agent.load(path)


def test_resume_refuses_a_checkpoint_of_another_agent_listing_differences(
    saved: tuple[Agent, Path], tmp_path: Path
) -> None:
    path = tmp_path / "a.ckpt"
    path.write_bytes(saved[1].read_bytes())
    other = Agent("ppo", "CartPole-v1", seed=3, checkpoint_path=path, learning_rate=1e-3, **TINY)
    with pytest.raises(CheckpointError) as info:
        other.learn(256, resume=True)
    msg = str(info.value)
    assert "seed: checkpoint 0, this agent 3" in msg
    assert "config.learning_rate: checkpoint 0.0003, this agent 0.001" in msg
    assert "settings.normalize_obs: checkpoint True, this agent False" in msg


def test_eval_reports_a_corrupted_checkpoint_in_one_line(
    saved: tuple[Agent, Path], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from policyopt.cli import app

    run = tmp_path / "run"
    _rewrite(saved[1], run / "checkpoints" / "seed_0.ckpt", meta_fn=_other_env)
    res = CliRunner().invoke(app, ["eval", str(run), "--episodes", "1"])
    assert res.exit_code == 2
    assert res.output.startswith("error:") and res.output.count("\n") == 1, res.output
    assert "Dense_0.kernel" in res.output


# ----------------------------------------------------------------------------- atomic writes

KILL_DURING_SAVE = """
import os, signal, sys
from policyopt.checkpoint import write_checkpoint
import numpy as np
os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)  # die between write and rename
write_checkpoint(sys.argv[1], {"x": 1}, {"w": np.ones(3)})
"""


def test_a_kill_during_save_leaves_a_named_temporary_that_the_next_save_removes(
    tmp_path: Path,
) -> None:
    target = tmp_path / "run.ckpt"
    proc = subprocess.Popen([sys.executable, "-c", KILL_DURING_SAVE, str(target)])
    assert proc.wait(timeout=120) == -signal.SIGKILL
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and re.fullmatch(
        rf"\.run\.ckpt\.policyopt-tmp-{proc.pid}@{HOST_TAG}-[0-9a-f]+", left[0]
    ), left
    assert not target.exists()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # a live writer's temporary is never touched
        (tmp_path / f".other.json{TMP_MARKER}{live.pid}-abcd").write_text("partial")
        write_checkpoint(target, {"x": 2}, {"w": np.zeros(3)})
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            ["run.ckpt", f".other.json{TMP_MARKER}{live.pid}-abcd"]
        )
    finally:
        live.kill()
        live.wait()
    assert read_checkpoint(target)[0] == {"x": 2}
    assert [p.name for p in clean_stale_temporaries(tmp_path)] == [
        f".other.json{TMP_MARKER}{live.pid}-abcd"
    ]
    # Another machine's temporary (its pid means nothing here) is never removed.
    foreign = tmp_path / f".x.json{TMP_MARKER}{live.pid}@0123abcd-ef01"
    foreign.write_text("partial")
    assert HOST_TAG != "0123abcd" and clean_stale_temporaries(tmp_path) == []
    assert foreign.exists()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "a.json", "old")

    class BoomError(Exception):
        pass

    from policyopt.atomic import atomic_path

    with pytest.raises(BoomError), atomic_path(tmp_path / "a.json") as tmp:
        tmp.write_text("new, half")
        raise BoomError
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    assert (tmp_path / "a.json").read_text() == "old"


def test_there_is_one_atomic_writer() -> None:
    """Renames into place and temporary files live in policyopt.atomic only (the TensorBoard
    directory swap in runs.py uses its names and its directory fsync)."""
    src = Path(__file__).resolve().parents[1] / "src" / "policyopt"
    offenders = []
    for f in src.rglob("*.py"):
        text = f.read_text()
        if f.name != "atomic.py" and re.search(r"NamedTemporaryFile|mkstemp|mkdtemp", text):
            offenders.append(f.name)
        if f.name not in ("atomic.py", "runs.py") and "os.replace(" in text:
            offenders.append(f.name)
    assert offenders == []


def test_huge_numbers_in_a_checkpoint_meta_are_checkpoint_errors(tmp_path: Path) -> None:
    """A crafted meta with a 400-digit float field or a seed beyond 2³²−1 is refused as a
    CheckpointError, never an OverflowError from deep inside."""
    agent = Agent("ppo", "CartPole-v1", num_envs=2, num_steps=32, batch_size=32)
    path = agent.save(tmp_path / "a.ckpt")
    meta, state = read_checkpoint(path)
    for field, value in (("config.learning_rate", 10**400), ("seed", 2**80)):
        bad = json.loads(json.dumps(meta))
        if field == "seed":
            bad["seed"] = value
        else:
            bad["config"]["learning_rate"] = value
        write_checkpoint(tmp_path / "bad.ckpt", bad, state)
        with pytest.raises(CheckpointError):
            Agent.load(tmp_path / "bad.ckpt")
