"""Sweeps: trial expansion, validation up front, failures isolated, local and Ray executors."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policyopt.cli import app
from policyopt.errors import ConfigError
from policyopt.experiments.sweep import SweepSpec, load_sweep, make_trials, run_sweep

SMALL = {"num_envs": 2, "num_steps": 32, "batch_size": 32, "n_epochs": 1}


def _spec(tmp_path: Path, **kw) -> SweepSpec:
    base = {"name": "s", "runs_dir": str(tmp_path), "algos": ["ppo"], "envs": ["CartPole-v1"],
            "seeds": 2, "steps": 256, "set": SMALL}  # fmt: skip
    return SweepSpec.from_dict(base | kw)


def test_grid_expands_per_recipe_and_random_search_is_seeded(tmp_path: Path) -> None:
    grid = _spec(
        tmp_path,
        algos=["ppo", "trpo"],
        params={"ppo.clip_eps": [0.1, 0.2], "gamma": [0.9, 0.99]},
        set={"num_envs": 2, "num_steps": 32, "ppo.batch_size": 32, "trpo.vf_batch_size": 64},
    )
    trials = make_trials(grid)
    assert [t.spec.algo for t in trials] == ["ppo"] * 4 + ["trpo"] * 2
    assert trials[1].params == {"clip_eps": 0.1, "gamma": 0.99}
    params = {"learning_rate": {"log_uniform": [1e-4, 1e-2]}, "n_epochs": [1, 2]}
    rand = _spec(tmp_path, search="random", samples=5, params=params)
    a, b = make_trials(rand), make_trials(rand)
    assert [t.params for t in a] == [t.params for t in b] and len(a) == 5
    assert all(1e-4 <= t.params["learning_rate"] <= 1e-2 for t in a)


def test_every_trial_is_validated_before_any_runs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"trial ppo-CartPole-v1-001 \(clip_eps=5\).*clip_eps"):
        run_sweep(_spec(tmp_path, params={"clip_eps": [0.2, 5]}))
    assert not (tmp_path / "s").exists()
    with pytest.raises(ConfigError, match=r"sweep.search: got 'bayes'"):
        _spec(tmp_path, search="bayes")
    with pytest.raises(ConfigError, match=r"sweep.algo: unknown key"):
        SweepSpec.from_dict({"name": "x", "algo": ["ppo"], "envs": ["CartPole-v1"]})
    (tmp_path / "bad.yaml").write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_sweep(tmp_path / "bad.yaml")


def test_local_sweep_cli_writes_runs_and_isolates_a_failed_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from policyopt.experiments import sweep as sweep_mod

    real = sweep_mod.train_run

    def sometimes_broken(spec, run_dir, **kw):
        if spec.overrides["learning_rate"] == 1e-3:
            raise RuntimeError("simulated crash")
        return real(spec, run_dir, **kw)

    monkeypatch.setattr(sweep_mod, "train_run", sometimes_broken)
    (tmp_path / "s.yaml").write_text(
        f"name: s\nruns_dir: {tmp_path}\nalgos: [ppo]\nenvs: [CartPole-v1]\nseeds: 2\n"
        f"steps: 256\nset: {json.dumps(SMALL)}\nparams:\n  learning_rate: [3.0e-4, 1.0e-3]\n"
    )
    res = CliRunner().invoke(app, ["sweep", str(tmp_path / "s.yaml")])
    assert res.exit_code == 0, res.output
    assert "1 trial(s) failed" in res.output
    out = json.loads((tmp_path / "s" / "sweep.json").read_text())
    ok, failed = out["trials"]
    assert ok["status"] == "ok" and ok["learning_rate"] == 3e-4 and "eval_mean_return" in ok
    assert failed["status"] == "failed" and "simulated crash" in failed["error"]
    assert (tmp_path / "s" / ok["trial"] / "metrics.csv").exists()


def test_ray_executor_runs_trials_as_tasks_on_a_real_local_ray(tmp_path: Path) -> None:
    """Two trials on a real local Ray (2 CPUs); one fails at run time, the other lands."""
    ray = pytest.importorskip("ray")
    spec = SweepSpec.from_dict(
        {"name": "r", "runs_dir": str(tmp_path), "algos": ["ppo"],
         "envs": ["CartPole-v1", "FrozenLake-v1"], "seeds": 2, "steps": 256, "set": SMALL}
    )  # fmt: skip
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        out = run_sweep(spec, executor="ray")
    finally:
        ray.shutdown()
    ok, failed = out["trials"]
    assert ok["status"] == "ok" and (tmp_path / "r" / ok["trial"] / "summary.json").exists()
    assert failed["status"] == "failed" and "observation_space: Discrete" in failed["error"]


def test_host_trials_run_in_a_process_pool(tmp_path: Path) -> None:
    spec = SweepSpec.from_dict(
        {"name": "p", "runs_dir": str(tmp_path), "algos": ["ppo"], "envs": ["LunarLander-v3"],
         "seeds": 1, "steps": 128, "set": {**SMALL, "num_envs": 2},
         "params": {"learning_rate": [3e-4, 1e-3]}}
    )  # fmt: skip
    out = run_sweep(spec, workers=2)
    assert [t["status"] for t in out["trials"]] == ["ok", "ok"]
    cfgs = [
        json.loads((tmp_path / "p" / t["trial"] / "config.json").read_text()) for t in out["trials"]
    ]
    assert [c["learning_rate"] for c in cfgs] == [3e-4, 1e-3]
    assert all(c["run"]["level"] == "host" for c in cfgs)


def test_an_existing_sweep_is_refused_before_any_trial_unless_overwritten(
    tmp_path: Path,
) -> None:
    from policyopt.experiments.rundir import RunExistsError

    spec = _spec(tmp_path, seeds=1, params={"learning_rate": [3e-4, 1e-3]})
    first = run_sweep(spec, log=lambda *_: None)
    assert [t["status"] for t in first["trials"]] == ["ok", "ok"]
    stale = tmp_path / "s" / "ppo-CartPole-v1-999"
    (stale / "checkpoints").mkdir(parents=True)  # a trial of an older, larger sweep
    mtime = (tmp_path / "s" / "sweep.json").stat().st_mtime_ns
    with pytest.raises(RunExistsError, match=r"already holds a sweep.*--overwrite"):
        run_sweep(spec, log=lambda *_: None)
    assert (tmp_path / "s" / "sweep.json").stat().st_mtime_ns == mtime  # untouched
    again = run_sweep(spec, log=lambda *_: None, overwrite=True)
    assert [t["status"] for t in again["trials"]] == ["ok", "ok"]
    assert not stale.exists()  # results of two sweeps never mix
    (tmp_path / "s" / "notes.txt").write_text("mine")
    with pytest.raises(RunExistsError, match="not something a sweep writes"):
        run_sweep(spec, log=lambda *_: None, overwrite=True)


def test_run_fields_reach_every_trial_and_unknown_ones_are_refused() -> None:
    raw = {"name": "n", "algos": ["trpo"], "envs": ["LunarLander-v3"], "params": {},
           "run": {"normalize_obs": True, "normalize_reward": True}}  # fmt: skip
    pytest.importorskip("Box2D")
    (trial,) = make_trials(SweepSpec.from_dict(raw))
    assert trial.spec.normalization() == (True, True)
    with pytest.raises(ConfigError, match=r"run\.seeds.*allowed: level, normalize_obs"):
        SweepSpec.from_dict({**raw, "run": {"seeds": 3}})
    for path in Path(__file__).parents[1].glob("examples/sweeps/*.yaml"):
        make_trials(load_sweep(path))  # every shipped example validates
