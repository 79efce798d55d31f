"""The program cache: a second process loads the traced training program instead of tracing it,
and gets the same numbers; a changed config, a damaged entry or an unexpected layout is never
served."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from policyopt import program_cache
from policyopt.configs import make_config
from policyopt.train import run_train

SMALL = {"num_envs": 4, "num_steps": 32, "total_timesteps": 256, "batch_size": 64,
         "n_epochs": 1, "eval_episodes": 2}  # fmt: skip

SCRIPT = """
import hashlib, json, sys, jax, numpy as np
from policyopt import program_cache
from policyopt.configs import make_config
from policyopt.train import run_train
cfg = make_config("ppo", env_id="CartPole-v1", **json.loads(sys.argv[1]))
out = run_train(cfg, num_seeds=2).output
digest = hashlib.sha256(b"".join(np.asarray(x).tobytes()
                                 for x in jax.tree_util.tree_leaves(out))).hexdigest()
s = program_cache.STATS
print(json.dumps({"hits": s.hits, "misses": s.misses, "stores": s.stores, "digest": digest,
                  "type": type(out).__name__, "learner": type(out.learner).__name__}))
"""


def _process(cache: Path, **overrides: int) -> dict:
    env = {**os.environ, "POLICYOPT_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps({**SMALL, **overrides})],
        env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _digest(out: object) -> str:
    leaves = jax.tree_util.tree_leaves(out)
    return hashlib.sha256(b"".join(np.asarray(x).tobytes() for x in leaves)).hexdigest()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private program cache for this test (XLA's compilation cache stays the default)."""
    monkeypatch.setenv("POLICYOPT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "programs"


def test_a_second_process_loads_the_program_and_gets_the_same_numbers(tmp_path: Path) -> None:
    first = _process(tmp_path)
    assert (first["hits"], first["misses"], first["stores"]) == (0, 1, 1)
    second = _process(tmp_path)
    assert (second["hits"], second["misses"], second["stores"]) == (1, 0, 0)
    assert second["digest"] == first["digest"]
    assert (second["type"], second["learner"]) == ("TrainOutput", "Learner")
    other = _process(tmp_path, num_steps=64)  # another config: another program, stored anew
    assert (other["hits"], other["misses"], other["stores"]) == (0, 1, 1)
    assert len(list((tmp_path / "programs").glob("*.exported"))) == 2


def test_cached_uncached_and_reloaded_runs_are_bit_identical(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config("ppo", env_id="CartPole-v1", **SMALL)
    before = dict(vars(program_cache.STATS))
    stored = run_train(cfg, num_seeds=2).output
    loaded = run_train(cfg, num_seeds=2).output
    assert program_cache.STATS.stores == before["stores"] + 1
    assert program_cache.STATS.hits == before["hits"] + 1
    monkeypatch.setenv("POLICYOPT_CACHE_DIR", "off")
    plain = run_train(cfg, num_seeds=2).output
    assert jax.tree_util.tree_structure(loaded) == jax.tree_util.tree_structure(plain)
    assert _digest(stored) == _digest(loaded) == _digest(plain)


def test_the_key_covers_config_seeds_and_flags() -> None:
    base = {"config": repr(make_config("ppo", **SMALL)), "num_seeds": 1, "normalize_obs": False}
    key = program_cache.program_key(base)
    assert program_cache.program_key(dict(base)) == key
    changed = [
        {**base, "config": repr(make_config("ppo", **{**SMALL, "clip_eps": 0.1}))},
        {**base, "num_seeds": 2},
        {**base, "normalize_obs": True},
    ]
    assert len({program_cache.program_key(d) for d in changed} | {key}) == 4


@pytest.mark.parametrize("damage", ["program", "hash", "layout", "treedef"])
def test_a_damaged_or_foreign_entry_is_a_miss_and_is_rewritten(cache: Path, damage: str) -> None:
    cfg = make_config("ppo", env_id="CartPole-v1", **SMALL)
    reference = _digest(run_train(cfg).output)
    (program,) = cache.glob("*.exported")
    meta_path = program.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    if damage == "program":  # a flipped byte: the recorded SHA-256 no longer matches
        data = bytearray(program.read_bytes())
        data[len(data) // 2] ^= 0xFF
        program.write_bytes(bytes(data))
    elif damage == "hash":
        meta["sha256"] = "0" * 64
    elif damage == "layout":  # metric names this code would not produce
        meta["layout"]["metrics"] = ["loss/not_a_metric"]
    else:
        meta["layout"]["treedef"] = "PyTreeDef(*)"
    meta_path.write_text(json.dumps(meta))
    before = dict(vars(program_cache.STATS))
    assert _digest(run_train(cfg).output) == reference
    assert program_cache.STATS.hits == before["hits"]
    assert program_cache.STATS.misses == before["misses"] + 1
    assert program_cache.STATS.stores == before["stores"] + 1
    assert program_cache.load_program(program.stem) is not None  # rewritten, whole again


def test_disabled_cache_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYOPT_CACHE_DIR", "off")
    assert program_cache.programs_dir() is None
    assert program_cache.load_program("0" * 40) is None
    assert program_cache.store_program("0" * 40, lambda x: [x], (np.zeros(1),), {}) is None
