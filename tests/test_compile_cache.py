"""The persistent compilation cache: a second process loads what the first compiled."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from policyopt.compile_cache import cache_dir

SCRIPT = """
import json, sys, jax
from policyopt.compile_cache import CacheCounter
from policyopt.configs import make_config
from policyopt.train import make_train
counter = CacheCounter()
cfg = make_config("ppo", num_envs=4, num_steps=int(sys.argv[1]), total_timesteps=256,
                  batch_size=64, n_epochs=1, eval_episodes=1)
jax.jit(make_train(cfg))(jax.random.PRNGKey(0))
print(json.dumps({"hits": counter.hits, "misses": counter.misses,
                  "dir": jax.config.jax_compilation_cache_dir}))
"""


def _run(cache: str, num_steps: int = 32) -> dict:
    env = {**os.environ, "POLICYOPT_CACHE_DIR": cache}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(num_steps)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_hits_the_cache_and_a_new_config_misses(tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    first = _run(cache)
    assert first["misses"] > 0 and first["hits"] == 0 and first["dir"] == cache
    second = _run(cache)
    assert second["hits"] == first["misses"] and second["misses"] == 0
    other = _run(cache, num_steps=64)  # a static field changes the program: never stale
    assert other["misses"] > 0


def test_cache_can_be_disabled(tmp_path: Path) -> None:
    off = _run("off")
    assert off["hits"] == 0 and not off["dir"]


@pytest.mark.parametrize("raw", ["off", "0", "", "none"])
def test_disabled_spellings(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("POLICYOPT_CACHE_DIR", raw)
    assert cache_dir() is None


def test_default_location_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("POLICYOPT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "policyopt" / "jax"
