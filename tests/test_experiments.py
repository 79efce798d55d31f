"""Run directories for host and compiled training: layout, TensorBoard, eval, resume."""

import json
from pathlib import Path

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

from policyopt.cli import app
from policyopt.errors import ConfigError
from policyopt.experiments import RunSpec, resume_run, train_run
from policyopt.runs import load_metrics

runner = CliRunner()
HOST = ["--set", "num_envs=2", "--set", "num_steps=64", "--set", "batch_size=64"]


def _scalars(event_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Read TensorBoard scalars back with tensorboardX's own protobufs (no TensorFlow)."""
    import struct

    from tensorboardX.proto import event_pb2

    out: dict[str, list[tuple[int, float]]] = {}
    for f in event_dir.glob("events.out.tfevents.*"):
        data = f.read_bytes()
        i = 0
        while i < len(data):
            (n,) = struct.unpack("<Q", data[i : i + 8])
            ev = event_pb2.Event.FromString(data[i + 12 : i + 12 + n])
            i += 12 + n + 4
            for v in ev.summary.value:
                out.setdefault(v.tag, []).append((ev.step, v.simple_value))
    return out


def test_host_run_layout_tensorboard_eval_and_video(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["train", "ppo", "policyopt-test/Target-v0", "--seeds", "2", "--steps", "512",
         "--runs-dir", str(tmp_path), "--name", "t", "--no-progress", *HOST],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    run = tmp_path / "t"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["algo"] == "ppo" and cfg["run"]["level"] == "host" and cfg["num_envs"] == 2
    m = load_metrics(run)
    assert m["rollout/ep_rew_mean"].shape == (2, 4)
    np.testing.assert_array_equal(m["time/total_timesteps"][0], [128, 256, 384, 512])
    tb = _scalars(run / "tb" / "seed_1")
    assert [s for s, _ in tb["train/approx_kl"]] == [128, 256, 384, 512]
    np.testing.assert_allclose([v for _, v in tb["train/approx_kl"]], m["train/approx_kl"][1])
    for f in ("checkpoints/seed_0.ckpt", "checkpoints/seed_1.ckpt", "return.png", "spec.json"):
        assert (run / f).stat().st_size > 0, f
    ev = runner.invoke(
        app, ["eval", str(run), "--episodes", "3", "--video", str(tmp_path / "v.gif")]
    )
    assert ev.exit_code == 0, ev.output
    assert "all seeds" in ev.output and (tmp_path / "v.gif").stat().st_size > 0


@pytest.mark.parametrize(("seeds", "at"), [(2, 2 * 4 + 2), (3, 3 * 2 + 1)])
def test_interrupted_host_run_resumes_to_the_uninterrupted_numbers(
    tmp_path: Path, interrupt_update, seeds: int, at: int
) -> None:
    """Seeds train in lockstep (the updates start seed 0, 1, …, 0, 1, …): Ctrl-C at the
    ``at``-th one stops every seed, each keeps its last segment checkpoint, resume is exact."""
    small = {"num_envs": 2, "num_steps": 32, "batch_size": 32, "n_epochs": 2}
    spec = RunSpec("ppo", "CartPole-v1", seeds=seeds, steps=64 * 6, overrides=small,
                   checkpoint_every=2, level="host")  # fmt: skip
    full = train_run(spec, tmp_path / "full")
    restore = interrupt_update(at)  # (2, 10): the 2nd seed's 5th update; (3, 7): 1st's 3rd
    with pytest.raises(KeyboardInterrupt):
        train_run(spec, tmp_path / "cut")
    restore()
    resumed = resume_run(tmp_path / "cut")
    assert resumed["eval_mean_return_per_seed"] == full["eval_mean_return_per_seed"]
    a, b = load_metrics(tmp_path / "full"), load_metrics(tmp_path / "cut")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_compiled_run_exports_agents_that_eval_reads(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["train", "ppo", "CartPole-v1", "--seeds", "2", "--steps", "2048", "--runs-dir",
         str(tmp_path), "--name", "c", "--no-preset"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "c" / "config.json").read_text())["run"]["level"] == "compiled"
    ev = runner.invoke(app, ["eval", str(tmp_path / "c"), "--episodes", "2"])
    assert ev.exit_code == 0, ev.output
    assert ev.output.count("\n") > 4


def test_compiled_exports_hold_each_seeds_trained_learner(tmp_path: Path) -> None:
    """Seed k's checkpoint of a compiled run is exactly seed k's learner of the program's
    output (the same program run again: deterministic on the CPU)."""
    from policyopt.checkpoint import read_checkpoint
    from policyopt.train import run_train

    spec = RunSpec("ppo", "CartPole-v1", seeds=2, seed=3, steps=2048, use_preset=False)
    train_run(spec, tmp_path / "r")
    learner = jax.device_get(run_train(spec.check(), seed=3, num_seeds=2).output.learner)

    def by_path(tree: object) -> dict[tuple[str, ...], np.ndarray]:
        """Leaves by their path of names (the checkpoint stores tuples as "0", "1", …)."""
        leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
        name = lambda e: str(getattr(e, "key", getattr(e, "idx", getattr(e, "name", e))))  # noqa: E731
        return {tuple(name(e) for e in path): np.asarray(x) for path, x in leaves}

    for k in range(2):
        _, arrays = read_checkpoint(tmp_path / "r" / "checkpoints" / f"seed_{k}.ckpt")
        want = by_path(jax.tree.map(lambda x, k=k: x[k], learner))
        got = by_path(arrays["learner"])
        assert got.keys() == want.keys() and len(got) > 10
        for path, x in got.items():
            np.testing.assert_array_equal(x, want[path], err_msg=str(path))


def test_natural_gradient_runs_get_a_diagnostics_figure(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        ["train", "trpo", "CartPole-v1", "--steps", "2048", "--runs-dir", str(tmp_path),
         "--name", "n", "--no-preset"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    for f in ("natural_gradient.png", "natural_gradient.svg", "kl_forward.png", "return.png"):
        assert (tmp_path / "n" / f).stat().st_size > 0, f


def test_bad_run_arguments_fail_before_training(tmp_path: Path) -> None:
    res = runner.invoke(app, ["train", "ppo", "LunarLandr-v3", "--runs-dir", str(tmp_path)])
    assert res.exit_code == 2 and "did you mean 'LunarLander-v3'" in res.output
    res = runner.invoke(app, ["train", "ppo", "CartPole-v1", "--level", "gpu"])
    assert res.exit_code == 2 and "level: got 'gpu'; allowed: auto, compiled, host" in res.output
    res = runner.invoke(app, ["train", "ppo", "CartPole-v1", "--set", "clip_eps=2"])
    assert res.exit_code == 2 and "PPOConfig.clip_eps" in res.output
    res = runner.invoke(app, ["eval", str(tmp_path)])
    assert res.exit_code == 2 and "no checkpoints" in res.output
    with pytest.raises(ConfigError, match="not a policyopt run directory"):
        resume_run(tmp_path)
    assert not any(tmp_path.iterdir())


def test_reproduce_paper_writes_three_figures_and_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from policyopt.experiments import paper

    tiny = paper.Budget(lunar_steps=16384, cartpole_steps=4096)
    monkeypatch.setitem(paper.BUDGETS, "quick", tiny)
    res = runner.invoke(
        app, ["reproduce", "paper", "--seeds", "2", "--out", str(tmp_path), "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    for stem in ("figure1_return", "figure2_kl_clip", "figure3_npg_cartpole"):
        for ext in ("png", "svg"):
            assert (tmp_path / f"{stem}.{ext}").stat().st_size > 0
    report = (tmp_path / "report.md").read_text()
    assert "policyopt ppo on LunarLander-v3" in report and "policyopt npg on CartPole-v1" in report
    assert report.count("![figure") == 3
    # --redraw: the same figures and report from the run directories alone (no training),
    # e.g. from the CSVs committed under docs/paper/runs
    copy = tmp_path / "copy"
    for run in ("ppo-LunarLander-v3", "trpo-LunarLander-v3", "npg-CartPole-v1"):
        for f in ("metrics.csv", "summary.json", "config.json"):
            (copy / "runs" / run).mkdir(parents=True, exist_ok=True)
            (copy / "runs" / run / f).write_bytes((tmp_path / run / f).read_bytes())
    res = runner.invoke(app, ["reproduce", "paper", "--redraw", "--out", str(copy)])
    assert res.exit_code == 0, res.output
    assert (copy / "figure2_kl_clip.png").exists()
    redrawn = (copy / "report.md").read_text()
    assert redrawn.split("| wall s |")[1].count("policyopt") == 3
    empty = runner.invoke(app, ["reproduce", "paper", "--redraw", "--out", str(tmp_path / "e")])
    assert empty.exit_code == 2 and "none of the paper's run directories" in empty.output
    bad = runner.invoke(app, ["reproduce", "paper", "--budget", "huge"])
    assert bad.exit_code == 2 and "allowed: quick, full" in bad.output


def test_the_committed_paper_runs_redraw_the_committed_report(tmp_path: Path) -> None:
    """docs/paper/runs holds every curve's CSVs (in git, not only on the machine that ran
    them): ``--redraw`` from a copy gives the committed report's table."""
    import shutil

    root = Path(__file__).resolve().parents[1] / "docs" / "paper"
    shutil.copytree(root / "runs", tmp_path / "runs")
    res = runner.invoke(app, ["reproduce", "paper", "--redraw", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    table = (root / "report.md").read_text().split("![figure")[0]
    assert (tmp_path / "report.md").read_text().split("![figure")[0] == table
    assert table.count("on LunarLander-v3") == 4  # ours and SB3's, PPO and TRPO


def test_sb3_runs_land_in_the_same_layout(tmp_path: Path) -> None:
    from policyopt.experiments.paper import train_sb3

    train_sb3("ppo", "LunarLander-v3", 1, 16 * 1024 * 2, tmp_path / "sb3")
    m = load_metrics(tmp_path / "sb3")
    assert m["rollout/ep_rew_mean"].shape == (1, 2)
    assert np.isfinite(m["train/clip_fraction"][0, 0]) and np.isfinite(m["train/kl_forward"][0, 0])
    # The exact KL(π_k‖π_{k+1}) of each update, not SB3's k3 approx_kl under another name.
    assert np.all(m["train/kl_forward"][0] > 0)
    assert not np.allclose(m["train/kl_forward"][0], m["train/approx_kl"][0])


@pytest.mark.parametrize("algo", ["ppo", "trpo"])
def test_seeds_in_lockstep_equal_each_seed_run_alone(tmp_path: Path, algo: str) -> None:
    """A host run of 3 seeds trains them in lockstep in one process; every seed's metrics,
    evaluation and checkpoint are bit-identical to that seed trained by itself."""
    from policyopt.checkpoint import read_checkpoint

    small = {"num_envs": 2, "num_steps": 32}
    small |= {"batch_size": 32, "n_epochs": 2} if algo == "ppo" else {"vf_batch_size": 32}
    base = {"steps": 64 * 5, "overrides": small, "checkpoint_every": 2, "level": "host",
            "use_preset": False}  # fmt: skip
    together = train_run(RunSpec(algo, "CartPole-v1", seeds=3, seed=7, **base), tmp_path / "t")
    m_together = load_metrics(tmp_path / "t")
    for k in range(3):
        alone = train_run(RunSpec(algo, "CartPole-v1", seed=7 + k, **base), tmp_path / f"a{k}")
        assert alone["eval_mean_return_per_seed"] == [together["eval_mean_return_per_seed"][k]]
        m_alone = load_metrics(tmp_path / f"a{k}")
        for key in m_alone:
            np.testing.assert_array_equal(m_alone[key][0], m_together[key][k], err_msg=key)
        a_meta, a_arrays = read_checkpoint(tmp_path / f"a{k}" / "checkpoints" / "seed_0.ckpt")
        t_meta, t_arrays = read_checkpoint(tmp_path / "t" / "checkpoints" / f"seed_{k}.ckpt")
        assert a_meta["update"] == t_meta["update"] == 5
        a_leaves = jax.tree_util.tree_flatten_with_path(a_arrays)[0]
        t_leaves = jax.tree_util.tree_flatten_with_path(t_arrays)[0]
        assert [p for p, _ in a_leaves] == [p for p, _ in t_leaves]
        for (path, x), (_, y) in zip(a_leaves, t_leaves, strict=True):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=str(path))
