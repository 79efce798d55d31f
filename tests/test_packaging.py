"""Packaging (issue 15): the wheel and sdist that ``python -m build`` makes, installed into a
fresh virtualenv, first without any extra, then with each extra in turn.

Without an extra, the feature that needs it must fail at once (non-zero exit, nothing
trained, no traceback) with the ``pip install 'policyopt[EXTRA]'`` that enables it; with the
extra, the feature must work in a tiny run.

Slow (minutes: a build, a fresh virtualenv, pip installs from PyPI or the pip cache) and it
needs PyPI, so it is deselected by default: ``make test-package`` runs it
(``pytest -m packaging tests/test_packaging.py``). The tests share one virtualenv and run in
file order: the core, every feature failing without its extra, then the extras one by one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest

import policyopt

pytestmark = [pytest.mark.slow, pytest.mark.packaging, pytest.mark.timeout(1800)]

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: The extras whose features these tests exercise, in the order they are installed: box2d
#: before envpool (EnvPool would take LunarLander-v3 from "auto"), mujoco before video (the
#: mujoco extra brings imageio without its FFmpeg plugin: MP4 must still ask for `video`).
EXTRAS = ("box2d", "envpool", "mujoco", "video", "sb3", "ray")
#: A feature that needs an extra must fail this fast without it (CLI start-up included).
AT_ONCE_SECONDS = 60
#: Tiny host-loop settings: 2 envs × 256 steps per update, 2048 steps in all.
TINY = ["--no-preset", "--no-progress", "--steps", "2048", "--set", "num_envs=2",
        "--set", "num_steps=256", "--set", "batch_size=128"]  # fmt: skip


Proc = subprocess.CompletedProcess[str]


def _tail(text: str, n: int = 4000) -> str:
    """The end of a command's output (Rich tracebacks run to thousands of lines)."""
    return text if len(text) <= n else "…" + text[-n:]


def _needs(extra: str) -> str:
    return f"pip install 'policyopt[{extra}]'"


class Venv:
    """A fresh virtualenv (no system site packages) with the wheel installed."""

    def __init__(self, path: Path, wheel: Path, work: Path) -> None:
        self.path, self.wheel, self.work = path, wheel, work
        self.bin = path / "bin"
        self.extras: list[str] = []
        self.env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        self.env.update(
            PATH=f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            PYTHONNOUSERSITE="1",
            SDL_VIDEODRIVER="dummy",  # pygame renders off-screen
            COLUMNS="200",
        )
        self.seconds: dict[str, float] = {}

    def run(self, *args: str | Path, timeout: float = 600) -> tuple[Proc, float]:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [str(a) for a in args],
            cwd=self.work,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        return proc, time.perf_counter() - t0

    def policyopt(self, *args: str | Path, timeout: float = 600) -> tuple[Proc, float]:
        return self.run(self.bin / "policyopt", *args, timeout=timeout)

    def ok(self, *args: str | Path, timeout: float = 600) -> str:
        """``policyopt ARGS`` must succeed; its output."""
        proc, _ = self.policyopt(*args, timeout=timeout)
        assert proc.returncode == 0, f"policyopt {' '.join(map(str, args))}:\n{_tail(proc.stdout)}"
        return proc.stdout

    def pip_install(self, *requirements: str) -> None:
        t0 = time.perf_counter()
        proc, _ = self.run(self.bin / "python", "-m", "pip", "install", "-q", *requirements)
        assert proc.returncode == 0, _tail(proc.stdout)
        self.seconds[f"pip install {' '.join(requirements)}"] = time.perf_counter() - t0

    def install_extra(self, extra: str) -> None:
        if extra not in self.extras:
            self.pip_install(f"{self.wheel}[{extra}]")
            self.extras.append(extra)

    def importable(self, module: str) -> bool:
        code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is None)"
        proc, _ = self.run(self.bin / "python", "-c", code)
        return proc.returncode == 0


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``python -m build``: the sdist, then the wheel built from it."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-5000:]
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(p.name for p in out.iterdir())
    return {"wheel": wheels[0], "sdist": sdists[0]}


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, dist: dict[str, Path]) -> Iterator[Venv]:
    """A fresh virtualenv with the wheel installed without any extra."""
    root = tmp_path_factory.mktemp("venv")
    python = shutil.which("python3.11") or sys.executable
    subprocess.run([python, "-m", "venv", str(root / "venv")], check=True, timeout=300)
    v = Venv(root / "venv", dist["wheel"], root / "work")
    v.work.mkdir()
    v.pip_install(str(dist["wheel"]))
    yield v
    print("\npip install times: " + "; ".join(f"{k}: {s:.0f}s" for k, s in v.seconds.items()))


@pytest.fixture(scope="module")
def compiled_run(venv: Venv) -> Path:
    """A short compiled (gymnax, JIT) training in the virtualenv without extras."""
    out = venv.ok("train", "ppo", "CartPole-v1", "--steps", "20000", "--seeds", "1",
                  "--runs-dir", "runs", "--name", "compiled", "--no-progress")  # fmt: skip
    run = venv.work / "runs" / "compiled"
    assert "compile" in out and (run / "summary.json").is_file(), out
    assert json.loads((run / "spec.json").read_text()).get("level") in ("auto", "compiled")
    assert sorted((run / "checkpoints").glob("seed_*.ckpt")), out
    return run


# --------------------------------------------------------------------------- the artifacts


def test_wheel_metadata_is_complete(dist: dict[str, Path]) -> None:
    wheel = dist["wheel"]
    assert wheel.name == f"policyopt-{policyopt.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        info = f"policyopt-{policyopt.__version__}.dist-info"
        meta = Parser().parsestr(zf.read(f"{info}/METADATA").decode())
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
    assert meta["Name"] == "policyopt"
    assert meta["Version"] == policyopt.__version__ == PYPROJECT["version"]
    assert meta["Summary"] and meta["Description-Content-Type"] == "text/markdown"
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert f"{info}/licenses/LICENSE" in names
    classifiers = meta.get_all("Classifier") or []
    for c in ("Typing :: Typed", "Programming Language :: Python :: 3.11",
              "Operating System :: POSIX :: Linux"):  # fmt: skip
        assert c in classifiers
    from packaging.specifiers import SpecifierSet

    assert SpecifierSet(meta["Requires-Python"]) == SpecifierSet(PYPROJECT["requires-python"])
    assert set(meta.get_all("Provides-Extra") or []) == set(PYPROJECT["optional-dependencies"])
    assert set(EXTRAS) <= set(PYPROJECT["optional-dependencies"])
    assert "policyopt = policyopt.cli:main" in entry_points
    assert "policyopt/py.typed" in names
    package = ROOT / "src" / "policyopt"
    sources = {
        f"policyopt/{f.relative_to(package).as_posix()}"
        for f in package.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts
    }
    assert sources - names == set(), "files of the package missing from the wheel"
    assert "policyopt/cli.py" in names and not any(n.startswith("tests/") for n in names)


def test_sdist_holds_the_license_readme_and_runnable_tests(dist: dict[str, Path]) -> None:
    top = f"policyopt-{policyopt.__version__}"
    with tarfile.open(dist["sdist"]) as tf:
        names = set(tf.getnames())
    for f in ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "PKG-INFO",
              "src/policyopt/py.typed", "src/policyopt/cli.py", "tests/conftest.py"):  # fmt: skip
        assert f"{top}/{f}" in names, f
    assert not any("__pycache__" in n for n in names)


# --------------------------------------------------------------------------- no extras


def test_the_core_works_without_any_extra(venv: Venv, compiled_run: Path) -> None:
    for module in ("envpool", "Box2D", "mujoco", "imageio_ffmpeg", "torch",
                   "stable_baselines3", "ray", "kfac_jax"):  # fmt: skip
        assert not venv.importable(module), f"{module} installed without its extra"
    assert "tabular" in venv.ok("--help")
    assert policyopt.__version__ in venv.ok("--version")
    venv.ok("tabular", "--mdp", "chain", "--iters", "20", "--out", "tabular")
    written = {p.suffix for p in (venv.work / "tabular").iterdir()}
    assert {".csv", ".png"} <= written
    summary = json.loads((compiled_run / "summary.json").read_text())
    assert summary["eval_mean_return"] > 0


def _sweep_spec(venv: Venv, name: str, env: str = "CartPole-v1") -> Path:
    """One tiny trial (compiled on CartPole-v1)."""
    spec = venv.work / f"{name}.yaml"
    spec.write_text(
        f"name: {name}\nruns_dir: sweeps\nalgos: [ppo]\nenvs: [{env}]\nseeds: 1\n"
        "steps: 2048\nset:\n  num_envs: 2\n  num_steps: 256\n  batch_size: 128\n"
    )
    return spec


def _feature(extra: str, venv: Venv, run: Path) -> list[str | Path]:
    """The command of the feature ``extra`` enables (``EXTRA-how``: another command that
    needs it)."""
    host = {  # the host loop, on the backend that needs the extra
        "box2d": ["LunarLander-v3", "--vectorization", "sync"],
        "mujoco": ["HalfCheetah-v5", "--vectorization", "sync"],
        "envpool": ["CartPole-v1", "--level", "host", "--vectorization", "envpool"],
    }
    if extra in host:
        return ["train", "ppo", *host[extra], "--name", extra, *TINY]
    other: dict[str, list[str | Path]] = {
        "video": ["eval", run, "--episodes", "1", "--video", "video/seed0.mp4"],
        "sb3": ["reproduce", "paper", "--with-sb3", "--seeds", "1", "--out", "paper"],
        "ray": ["sweep", _sweep_spec(venv, "ray-sweep"), "--executor", "ray"],
        "kfac": ["train", "acktr", "CartPole-v1", "--steps", "2048", "--name", "kfac"],
        "box2d-sweep": ["sweep", _sweep_spec(venv, "lunar-sweep", "LunarLander-v3")],
        "box2d-benchmark": ["benchmark", "box2d", "--recipes", "ppo", "--out", "bench-box2d"],
        "mujoco-benchmark": ["benchmark", "mujoco", "--recipes", "ppo", "--out", "bench-mujoco"],
    }
    return other[extra]


def _assert_needs(feature: str, venv: Venv, run: Path) -> str:
    """``feature`` fails at once, naming its extra; the line that names it."""
    extra = feature.split("-")[0]
    args = _feature(feature, venv, run)
    trained = set(venv.work.glob("**/metrics.csv"))
    proc, seconds = venv.policyopt(*args, timeout=300)
    out = proc.stdout
    assert proc.returncode != 0, _tail(out)
    assert "Traceback" not in out, _tail(out)
    assert _needs(extra) in out, _tail(out)
    assert seconds < AT_ONCE_SECONDS, f"{extra}: failed after {seconds:.0f}s, not at once"
    assert set(venv.work.glob("**/metrics.csv")) == trained, "it trained before failing"
    line = next(x for x in out.splitlines() if _needs(extra) in x)
    print(f"\n{feature} ({seconds:.1f} s, exit {proc.returncode}): {line}")
    return line


@pytest.mark.parametrize(
    "feature", [*EXTRAS, "kfac", "box2d-sweep", "box2d-benchmark", "mujoco-benchmark"]
)
def test_a_feature_fails_at_once_naming_its_extra(
    venv: Venv, compiled_run: Path, feature: str
) -> None:
    if venv.extras:
        pytest.skip(f"the virtualenv already has {venv.extras} (tests run in file order)")
    _assert_needs(feature, venv, compiled_run)
    if feature in ("box2d", "mujoco", "envpool", "kfac"):
        assert not (venv.work / "runs" / feature).exists()  # refused before the run directory


# --------------------------------------------------------------------------- each extra


def _summary(venv: Venv, name: str) -> dict[str, object]:
    return json.loads((venv.work / "runs" / name / "summary.json").read_text())


@pytest.mark.parametrize("extra", EXTRAS)
def test_each_extra_enables_its_feature(venv: Venv, compiled_run: Path, extra: str) -> None:
    venv.install_extra(extra)
    if extra in ("box2d", "mujoco"):
        venv.ok(*_feature(extra, venv, compiled_run))
        assert "eval_mean_return" in _summary(venv, extra)
        if extra == "mujoco":  # imageio came with it, its FFmpeg plugin did not
            _assert_needs("video", venv, compiled_run)
    elif extra == "envpool":
        venv.ok(*_feature(extra, venv, compiled_run))
        spec = json.loads((venv.work / "runs" / "envpool" / "spec.json").read_text())
        assert spec["vectorization"] == "envpool" and "eval_mean_return" in _summary(venv, extra)
    elif extra == "video":
        venv.ok(*_feature(extra, venv, compiled_run))
        mp4 = venv.work / "video" / "seed0.mp4"
        assert mp4.is_file() and mp4.read_bytes()[4:8] == b"ftyp"  # an MP4 container
    elif extra == "sb3":
        # The SB3 side of `reproduce paper --with-sb3` (its quick budget is 150k steps per seed),
        # then SB3's evaluate_policy on a policyopt agent (Agent.predict has SB3's signature).
        code = (
            "from pathlib import Path\n"
            "from stable_baselines3.common.env_util import make_vec_env\n"
            "from stable_baselines3.common.evaluation import evaluate_policy\n"
            "from policyopt import Agent\n"
            "from policyopt.experiments.paper import train_sb3\n"
            "for algo in ('ppo', 'trpo'):\n"
            "    train_sb3(algo, 'CartPole-v1', 1, 2048, Path('runs') / f'sb3_{algo}')\n"
            "agent = Agent.load(Path('runs/compiled/checkpoints/seed_0.ckpt'))\n"
            "mean, _ = evaluate_policy(agent, make_vec_env('CartPole-v1', 1), n_eval_episodes=2)\n"
            "print('sb3 evaluate_policy', mean)\n"
        )
        proc, _ = venv.run(venv.bin / "python", "-c", code)
        assert proc.returncode == 0, _tail(proc.stdout)
        assert "sb3 evaluate_policy" in proc.stdout
        for algo in ("ppo", "trpo"):
            assert "eval_mean_return" in _summary(venv, f"sb3_{algo}")
    elif extra == "ray":
        venv.ok(*_feature(extra, venv, compiled_run))
        result = json.loads((venv.work / "sweeps" / "ray-sweep" / "sweep.json").read_text())
        assert result["executor"] == "ray"
        assert [t["status"] for t in result["trials"]] == ["ok"], result
