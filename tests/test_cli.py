"""The command line: outputs, summary and one-line errors."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyopt.cli import app
from policyopt.errors import ConfigError

runner = CliRunner()


def test_tabular_writes_csv_plot_and_summary(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "tabular",
            "--mdp",
            "frozenlake",
            "--algos",
            "npg,trpo",
            "--iters",
            "40",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "npg" in res.output and "trpo" in res.output
    for name in ("npg.csv", "trpo.csv", "suboptimality.png", "suboptimality.svg"):
        assert (tmp_path / name).stat().st_size > 0
    header = (tmp_path / "trpo.csv").read_text().splitlines()[0]
    assert header.startswith("iteration,f,gap,kl,step_size,backtracks,accepted")
    assert len((tmp_path / "npg.csv").read_text().splitlines()) == 42


def test_unknown_algorithm_lists_valid_names(tmp_path: Path) -> None:
    res = runner.invoke(app, ["tabular", "--algos", "npg,trp", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert (
        "unknown 'trp'" in res.output
        and "adaptive_trpo" in res.output
        and "did you mean" in res.output
    )


def test_set_overrides_and_bad_field(tmp_path: Path) -> None:
    ok = runner.invoke(
        app,
        [
            "tabular",
            "--mdp",
            "chain",
            "--algos",
            "pg",
            "--iters",
            "5",
            "--set",
            "pg.learning_rate=1.0",
            "--out",
            str(tmp_path),
        ],
    )
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(
        app, ["tabular", "--algos", "pg", "--set", "pg.etta=1.0", "--out", str(tmp_path)]
    )
    assert bad.exit_code == 2 and "PG.etta: unknown field" in bad.output


def test_train_and_plot_write_a_run_directory(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "train",
            "ppo",
            "CartPole-v1",
            "--seeds",
            "2",
            "--steps",
            "1024",
            "--runs-dir",
            str(tmp_path),
            "--set",
            "num_envs=4",
            "--set",
            "num_steps=64",
            "--set",
            "batch_size=64",
            "--set",
            "n_epochs=2",
        ],
    )
    assert res.exit_code == 0, res.output
    run = tmp_path / "ppo-CartPole-v1"
    for name in ("config.json", "metrics.csv", "summary.json", "return.png", "kl_forward.svg"):
        assert (run / name).stat().st_size > 0, name
    rows = (run / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("seed,update,") and len(rows) == 1 + 2 * 4
    res = runner.invoke(app, ["plot", str(run), "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cmp.png").exists()


def test_train_bad_input_is_one_line_error(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["train", "ppo", "CartPole-v1", "--set", "clip_eps=2", "--runs-dir", str(tmp_path)]
    )
    assert res.exit_code == 2 and "PPOConfig.clip_eps: must be in (0, 1)" in res.output
    res = runner.invoke(app, ["train", "trpp", "CartPole-v1", "--runs-dir", str(tmp_path)])
    assert res.exit_code == 2 and "did you mean 'trpo'" in res.output
    res = runner.invoke(app, ["train", "ppo", "CartPol-v1", "--runs-dir", str(tmp_path)])
    assert res.exit_code == 2 and "CartPole-v1" in res.output


def test_version_prints_library_and_checkpoint_format() -> None:
    from policyopt import __version__
    from policyopt.checkpoint_format import CHECKPOINT_VERSION

    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0
    assert f"policyopt {__version__} (checkpoint format {CHECKPOINT_VERSION})" in res.output


def test_a_missing_extra_is_named_before_training(monkeypatch) -> None:
    """An env whose Gymnasium module needs an uninstalled package (Box2D here, simulated)
    fails at once with the policyopt extra that installs it."""
    import gymnasium as gym

    from policyopt.envs.host_env import resolve_backend

    def missing(name, *a, **k):
        raise gym.error.DependencyNotInstalled("Box2D is not installed")

    import importlib

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(ConfigError, match=r"pip install 'policyopt\[box2d\]'"):
        resolve_backend("LunarLander-v3", "sync", 2)
