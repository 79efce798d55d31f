"""IQM and stratified bootstrap CIs (rliable's method) and the `plot --aggregate` figure."""

from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from typer.testing import CliRunner

from policyopt.cli import app
from policyopt.configs import make_config
from policyopt.plots import iqm, stratified_bootstrap_ci
from policyopt.runs import save_run


def test_iqm_is_the_mean_of_the_middle_half() -> None:
    assert iqm(np.arange(1.0, 9.0).reshape(4, 2)) == 4.5  # drops 1, 2 and 7, 8
    assert iqm(np.array([[0.0], [0.0], [1.0], [100.0]])) == 0.5  # outlier run ignored


@given(arrays(np.float64, (6, 3), elements=st.floats(-1e3, 1e3)))
def test_iqm_and_its_ci_lie_within_the_data(scores: np.ndarray) -> None:
    point, lo, hi = stratified_bootstrap_ci(scores, iqm, n_boot=200)
    tol = 1e-9 * (1 + np.abs(scores).max())
    assert scores.min() - tol <= lo <= hi <= scores.max() + tol
    assert scores.min() - tol <= point <= scores.max() + tol


def test_stratified_bootstrap_resamples_runs_within_each_task() -> None:
    # task 0 is constant, task 1 varies: every bootstrap mean of task 0 stays 5.
    scores = np.stack([np.full(8, 5.0), np.arange(8.0)], axis=1)
    _, lo, hi = stratified_bootstrap_ci(scores[:, :1], lambda s: float(np.mean(s)))
    assert lo == hi == 5.0
    _, lo, hi = stratified_bootstrap_ci(scores, lambda s: float(np.mean(s)))
    assert lo < 4.25 < hi


def _fake_run(path: Path, algo: str, env: str, finals: list[float]) -> Path:
    batch = {"vf_batch_size": 32} if algo == "trpo" else {"batch_size": 32}
    cfg = make_config(algo, env_id=env, num_envs=2, num_steps=32, **batch)
    n = len(finals)
    metrics = {
        "time/total_timesteps": np.tile(np.arange(1, 4) * 64.0, (n, 1)),
        "rollout/ep_rew_mean": np.outer(finals, [0.2, 0.6, 1.0]),
    }
    save_run(path, cfg, metrics, np.asarray(finals)[:, None].repeat(4, 1), {"run_seconds": 1.0})
    return path


def test_plot_aggregate_across_environments(tmp_path: Path) -> None:
    runs = [
        _fake_run(tmp_path / "a1", "ppo", "CartPole-v1", [500, 480, 300, 490]),
        _fake_run(tmp_path / "a2", "ppo", "Acrobot-v1", [-80, -90, -500, -85]),
        _fake_run(tmp_path / "b1", "trpo", "CartPole-v1", [200, 250, 220, 300]),
        _fake_run(tmp_path / "b2", "trpo", "Acrobot-v1", [-200, -150, -300, -100]),
    ]
    res = CliRunner().invoke(
        app, ["plot", *map(str, runs), "--aggregate", "--out", str(tmp_path / "cmp")]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cmp_aggregate.png").stat().st_size > 0
    bad = CliRunner().invoke(
        app, ["plot", *map(str, runs[:3]), "--aggregate", "--out", str(tmp_path / "x")]
    )
    assert bad.exit_code == 2 and "every recipe needs every env" in bad.output
