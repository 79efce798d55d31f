"""Run directories: one writer at a time, no silent reuse, strict resume, whole-run timing.

Each case here was a way to end up with a directory whose files come from different runs
(two writers, a reused name with stale checkpoints, a resume under another spec) or whose
report describes only part of the run.
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyopt.checkpoint import read_checkpoint
from policyopt.cli import app
from policyopt.experiments import RunSpec, resume_run, train_run
from policyopt.experiments.rundir import RunDirError, RunExistsError, RunLockedError
from policyopt.experiments.training import ResumeMismatchError

runner = CliRunner()
TINY = {"num_envs": 2, "num_steps": 32, "batch_size": 32, "n_epochs": 1}
SPEC = RunSpec("ppo", "CartPole-v1", steps=128, overrides=TINY, use_preset=False, level="host")
TRPO = RunSpec(
    "trpo", "CartPole-v1", steps=128, use_preset=False, level="host",
    overrides={"num_envs": 2, "num_steps": 32, "vf_batch_size": 32},
)  # fmt: skip


def _train_args(runs: Path, name: str, *extra: str) -> list[str]:
    sets = [a for k, v in TINY.items() for a in ("--set", f"{k}={v}")]
    head = ["train", "ppo", "CartPole-v1", "--steps", "128", "--runs-dir", str(runs)]
    return [*head, "--name", name, "--no-progress", "--no-preset", "--level", "host", *sets, *extra]


def _one_line_error(res) -> str:
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error:") and res.output.count("\n") == 1, res.output
    return res.output


# ----------------------------------------------------------------------------- the lock

WRITER = """
import json, sys, time
from pathlib import Path
from policyopt.experiments import RunSpec, train_run
from policyopt.host import HostTrainer

release, original = Path(sys.argv[2]), HostTrainer.start_update

def held(self, state):  # a writer in the middle of training, until the test releases it
    out = original(self, state)
    print("training", flush=True)
    while not release.exists():
        time.sleep(0.05)
    return out

HostTrainer.start_update = held
spec = RunSpec("ppo", "CartPole-v1", steps=128, overrides=json.loads(sys.argv[3]),
               use_preset=False, level="host")
train_run(spec, sys.argv[1])
"""


def _start_writer(run: Path, release: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(run), str(release), json.dumps(TINY)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "training\n"
    return proc


def test_a_second_writer_gets_an_error_naming_the_first_ones_pid(tmp_path: Path) -> None:
    run, release = tmp_path / "shared", tmp_path / "release"
    proc = _start_writer(run, release)
    try:
        holder = json.loads((run / ".lock").read_text())
        assert holder["pid"] == proc.pid and "command" in holder and "host" in holder
        before = sorted(p.name for p in run.rglob("*"))
        with pytest.raises(RunLockedError, match=rf"shared is being written by pid {proc.pid} \("):
            train_run(TRPO, run)  # another recipe under the same name: refused, not mixed
        res = runner.invoke(app, _train_args(tmp_path, "shared", "--overwrite"))
        assert f"is being written by pid {proc.pid}" in _one_line_error(res)
        with pytest.raises(RunLockedError):
            resume_run(run)
        assert sorted(p.name for p in run.rglob("*")) == before  # nothing touched
    finally:
        release.touch()
        assert proc.wait(timeout=300) == 0
    spec = json.loads((run / "spec.json").read_text())
    assert spec["algo"] == json.loads((run / "config.json").read_text())["algo"] == "ppo"
    assert read_checkpoint(run / "checkpoints" / "seed_0.ckpt")[0]["algo"] == "ppo"


def test_the_lock_dies_with_its_holder_and_the_run_resumes(tmp_path: Path) -> None:
    run = tmp_path / "killed"
    proc = _start_writer(run, tmp_path / "never")
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    res = runner.invoke(app, ["train", "--resume", str(run), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert json.loads((run / "summary.json").read_text())["eval_mean_return"] > 0


# ----------------------------------------------------------------------------- reusing a name


def test_a_reused_name_is_refused_and_overwrite_leaves_no_stale_checkpoints(
    tmp_path: Path,
) -> None:
    run = tmp_path / "r"
    assert runner.invoke(app, _train_args(tmp_path, "r", "--seeds", "2")).exit_code == 0
    spec_before = (run / "spec.json").read_text()
    out = _one_line_error(runner.invoke(app, _train_args(tmp_path, "r", "--seeds", "1")))
    assert "already holds a run" in out and "--resume" in out and "--overwrite" in out
    assert (run / "spec.json").read_text() == spec_before
    with pytest.raises(RunExistsError):
        train_run(SPEC, run)
    res = runner.invoke(app, _train_args(tmp_path, "r", "--seeds", "1", "--overwrite"))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["seed_0.ckpt"]
    ev = runner.invoke(app, ["eval", str(run), "--episodes", "2"])
    assert ev.exit_code == 0, ev.output
    summary = json.loads((run / "summary.json").read_text())
    assert len(summary["eval_mean_return_per_seed"]) == 1
    # a stale file from before this version (or copied in by hand) is refused, not averaged
    (run / "checkpoints" / "seed_1.ckpt").write_bytes(
        (run / "checkpoints" / "seed_0.ckpt").read_bytes()
    )
    out = _one_line_error(runner.invoke(app, ["eval", str(run), "--episodes", "2"]))
    assert "seed_1.ckpt not part of this 1-seed run" in out


def test_eval_refuses_a_checkpoint_of_another_config(tmp_path: Path) -> None:
    run = tmp_path / "r"
    train_run(SPEC, run)
    cfg = json.loads((run / "config.json").read_text())
    cfg["learning_rate"] = 1e-3
    (run / "config.json").write_text(json.dumps(cfg))
    out = _one_line_error(runner.invoke(app, ["eval", str(run), "--episodes", "1"]))
    assert "not a checkpoint of this run: learning_rate: checkpoint 0.0003, config.json" in out


def test_overwrite_never_deletes_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.tex").write_text("precious")
    out = _one_line_error(runner.invoke(app, _train_args(tmp_path, "notes", "--overwrite")))
    assert "not a policyopt run directory" in out
    assert (tmp_path / "notes" / "thesis.tex").read_text() == "precious"
    out = _one_line_error(runner.invoke(app, ["train", "--resume", str(run_ := tmp_path / "x"),
                                              "--overwrite"]))  # fmt: skip
    assert "--overwrite: cannot be combined with --resume" in out and not run_.exists()


# ----------------------------------------------------------------------------- resume


def test_resume_with_a_different_spec_lists_every_difference(tmp_path: Path) -> None:
    run = tmp_path / "r"
    train_run(SPEC, run)
    spec = json.loads((run / "spec.json").read_text())
    spec["seed"], spec["overrides"]["learning_rate"] = 7, 1e-3
    (run / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(ResumeMismatchError) as info:
        resume_run(run)
    msg = str(info.value)
    assert "checkpoints/seed_0.ckpt" in msg
    assert "config.learning_rate: checkpoint 0.0003, spec 0.001" in msg
    assert "seed: checkpoint 0, spec 7" in msg
    out = _one_line_error(runner.invoke(app, ["train", "--resume", str(run), "--no-progress"]))
    assert "config.learning_rate" in out
    # the same spec through the API: the stored spec.json is compared too
    (run / "spec.json").write_text(json.dumps(SPEC.to_json()))
    with pytest.raises(ResumeMismatchError, match=r"spec\.json: algo: spec\.json 'ppo', this"):
        train_run(TRPO, run, resume=True)


def test_corrupted_spec_and_config_files_are_named(tmp_path: Path) -> None:
    run = tmp_path / "r"
    (run / "checkpoints").mkdir(parents=True)
    (run / "spec.json").write_text('{"algo": "ppo", "env_id": ')
    with pytest.raises(RunDirError, match=r"r/spec\.json: not readable JSON"):
        resume_run(run)
    assert "spec.json: not readable JSON" in _one_line_error(runner.invoke(app, ["eval", str(run)]))
    bad = SPEC.to_json() | {"seeds": "two"}
    (run / "spec.json").write_text(json.dumps(bad))
    with pytest.raises(RunDirError, match=r"spec\.json: seeds: expected int, got 'two'"):
        resume_run(run)
    bad = SPEC.to_json() | {"overrides": {**TINY, "clip_eps": 5}}
    (run / "spec.json").write_text(json.dumps(bad))
    with pytest.raises(RunDirError, match=r"spec\.json: PPOConfig\.clip_eps"):
        resume_run(run)
    (run / "spec.json").unlink()
    (run / "config.json").write_text("[1, 2")
    with pytest.raises(RunDirError, match=r"r/config\.json: not readable JSON"):
        resume_run(run)
    (run / "metrics.csv").write_text("seed,update\n")
    out = _one_line_error(runner.invoke(app, ["plot", str(run)]))
    assert "config.json: not readable JSON" in out


def test_resuming_a_finished_run_reports_the_whole_runs_timing(tmp_path: Path) -> None:
    run = tmp_path / "r"
    first = train_run(SPEC, run)
    again = resume_run(run)
    assert again["run_seconds"] == first["run_seconds"] > 0  # the first run's, not 0.1 s
    assert again["steps_per_second"] == first["steps_per_second"]


def test_an_interrupted_run_reports_the_time_of_both_parts(
    tmp_path: Path, interrupt_update
) -> None:
    spec = RunSpec("ppo", "CartPole-v1", steps=64 * 4, overrides=TINY, use_preset=False,
                   level="host", checkpoint_every=2)  # fmt: skip
    restore = interrupt_update(4)
    with pytest.raises(KeyboardInterrupt):
        train_run(spec, tmp_path / "r")
    restore()
    meta, _ = read_checkpoint(tmp_path / "r" / "checkpoints" / "seed_0.ckpt")
    assert meta["update"] == 2 and meta["train_seconds"] > 0
    summary = resume_run(tmp_path / "r")
    assert summary["run_seconds"] > meta["train_seconds"]
    meta, _ = read_checkpoint(tmp_path / "r" / "checkpoints" / "seed_0.ckpt")
    assert summary["run_seconds"] == meta["train_seconds"]
    assert summary["steps_per_second"] == pytest.approx(64 * 4 / meta["train_seconds"])


def test_resume_may_change_run_time_choices_and_reads_older_spec_files(
    tmp_path: Path, interrupt_update
) -> None:
    """``--on-nan``/``--step-timeout`` are run-time choices: a NaN stop advises
    ``--on-nan skip``, so resuming with it must work; a spec.json written before those
    fields existed resumes with their defaults."""
    spec = RunSpec("ppo", "CartPole-v1", steps=64 * 4, overrides=TINY, use_preset=False,
                   level="host", checkpoint_every=2)  # fmt: skip
    restore = interrupt_update(3)
    with pytest.raises(KeyboardInterrupt):
        train_run(spec, tmp_path / "r")
    restore()
    stored = json.loads((tmp_path / "r" / "spec.json").read_text())
    for key in ("on_nan", "step_timeout"):
        stored.pop(key)  # as an older policyopt wrote it
    (tmp_path / "r" / "spec.json").write_text(json.dumps(stored))
    summary = resume_run(tmp_path / "r", on_nan="skip")
    assert summary["eval_mean_return"] > 0
    assert json.loads((tmp_path / "r" / "spec.json").read_text())["on_nan"] == "skip"


def test_sweep_overwrite_refuses_a_trial_that_is_being_written(tmp_path: Path) -> None:
    from policyopt.experiments.rundir import lock_run_dir
    from policyopt.experiments.sweep import SweepSpec, prepare_sweep_dir

    trial = tmp_path / "s" / "ppo-CartPole-v1-000"
    (trial / "checkpoints").mkdir(parents=True)
    with lock_run_dir(trial), pytest.raises(RunLockedError, match=r"pid \d+"):
        prepare_sweep_dir(tmp_path / "s", overwrite=True)
    assert (trial / "checkpoints").exists()
    for bad in ("", ".", "..", "a/b"):
        with pytest.raises(ValueError, match=r"sweep\.name: must be a plain directory name"):
            SweepSpec.from_dict({"name": bad, "algos": ["ppo"], "envs": ["CartPole-v1"]})
