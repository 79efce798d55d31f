"""``policyopt benchmark``: suite validation, statistics, published numbers, resumption."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from policyopt.errors import ConfigError
from policyopt.experiments.benchmark import (
    BUILTIN_SUITES,
    Suite,
    cell_stats,
    cpu_model,
    env_family,
    load_suite,
    optimality_gap,
    probability_of_improvement,
    published_for,
    refresh_report,
    run_benchmark,
)
from policyopt.experiments.benchmark_report import published_label
from policyopt.runs import load_metrics

TINY = {
    "name": "tiny",
    "seeds": 2,
    "level": "compiled",
    "recipes": ["ppo", "trpo"],
    "envs": {"CartPole-v1": {"steps": 2048, "score_range": [22.0, 475.0]}},
    "set": {"num_envs": 4, "num_steps": 64, "ppo.batch_size": 64, "eval_episodes": 2},
}


@pytest.mark.parametrize("name", BUILTIN_SUITES)
def test_builtin_suites_validate_every_cell(name: str) -> None:
    suite = load_suite(name)
    cells = suite.cells()  # every config validated
    assert len(cells) == len(suite.recipes) * len(suite.envs)
    assert suite.seed == 0 and suite.seeds >= 5  # reporting seeds, disjoint from tuning (>= 1000)
    assert len({c.name for c in cells}) == len(cells)


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"recipes": None}, "recipes"),
        ({"envs": {"CartPole-v1": {"steps": 10, "score_range": [5.0, 1.0]}}}, "score_range"),
        ({"envs": {"CartPole-v1": {"steps": 0, "score_range": [0.0, 1.0]}}}, "steps"),
        ({"level": "gpu"}, "level"),
        ({"run": {"seeds": 3}}, "run.seeds"),
        ({"name": "a/b"}, "name"),
    ],
)
def test_bad_suites_name_the_field(patch: dict, field: str) -> None:
    raw = {**TINY, **patch}
    if raw["recipes"] is None:
        del raw["recipes"]
    with pytest.raises(ConfigError, match=field.split(".")[-1]):
        Suite.from_dict(raw).cells()


def test_bad_overrides_fail_before_anything_trains(tmp_path: Path) -> None:
    suite = Suite.from_dict({**TINY, "set": {"ppo.clip_eps": -1.0}})
    with pytest.raises(ConfigError, match="clip_eps"):
        run_benchmark(suite, tmp_path / "out", log=lambda *_: None)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigError, match="--recipes"):
        run_benchmark(Suite.from_dict(TINY), tmp_path / "o2", recipes=("ppo2",))


def test_unknown_suite_names_the_builtins() -> None:
    with pytest.raises(ConfigError, match="classic, box2d, mujoco"):
        load_suite("atari")


def test_probability_of_improvement_and_optimality_gap() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert probability_of_improvement(x + 10, x) == 1.0
    assert probability_of_improvement(x, x + 10) == 0.0
    assert probability_of_improvement(x, x) == 0.5  # ties count one half
    # task 0: x beats y in 3 of 4 pairs; task 1: in 1 of 4 -> mean 0.5
    y = np.array([[0.0, 3.5], [2.0, 5.0]])
    assert probability_of_improvement(x, y) == pytest.approx((3 / 4 + 1 / 4) / 2)
    assert optimality_gap(np.array([1.5, 1.0, 0.5, 0.0])) == pytest.approx((0 + 0 + 0.5 + 1) / 4)


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float64, (4, 3), elements=st.floats(-5, 5)),
    arrays(np.float64, (3, 3), elements=st.floats(-5, 5)),
)
def test_probability_of_improvement_is_complementary(x: np.ndarray, y: np.ndarray) -> None:
    assert probability_of_improvement(x, y) + probability_of_improvement(y, x) == pytest.approx(1)


def test_cell_stats() -> None:
    s = cell_stats(np.array([100.0, 200.0, 300.0, 400.0, 10_000.0]))
    assert s["mean"] == pytest.approx(2200.0)
    assert s["iqm"] == pytest.approx(300.0)  # the outlier run is trimmed
    assert s["ci95"][0] <= s["mean"] <= s["ci95"][1]


def test_published_numbers_say_what_differs() -> None:
    assert env_family("LunarLander-v3") == "LunarLander" and env_family("Foo") == "Foo"
    rows = published_for("ppo", "LunarLander-v3", 1_000_000)
    zoo = next(r for r in rows if r["source"] == "zoo")
    assert zoo["env"] == "LunarLander-v2" and not zoo["same_env"] and zoo["same_budget"]
    assert "rl-baselines3-zoo" in zoo["cite"]
    tianshou = [r for r in published_for("trpo", "HalfCheetah-v5", 1_000_000)
                if r["source"] == "tianshou"]  # fmt: skip
    assert tianshou and not tianshou[0]["same_statistic"]
    cart = published_for("ppo", "CartPole-v1", 100_000)
    assert cart[0]["same_budget"] and cart[0]["same_env"] and cart[0]["same_statistic"]
    assert published_for("ppo", "NoSuchEnv-v0", 1) == []
    # SB3's A2C is our pg: its numbers are pg's, labelled with the source's name
    a2c = published_for("pg", "Acrobot-v1", 500_000)
    assert a2c and a2c[0]["algo"] == "a2c" and a2c[0]["same_budget"]
    assert "zoo A2C" in published_label(a2c[0])
    assert "A2C" not in published_label(cart[0])
    assert all(r["algo"] != "a2c" for r in published_for("ppo", "Acrobot-v1", 500_000))


def test_benchmark_runs_resumes_and_reports(tmp_path: Path) -> None:
    """Two cells in processes of their own; a second invocation runs nothing; a lost cell
    result (a killed run) reruns that cell only; a different spec in the same place is
    refused."""
    out, logs = tmp_path / "bench", []
    suite = Suite.from_dict(TINY)
    result = run_benchmark(suite, out, report_dir=tmp_path / "report", log=logs.append)
    assert [c["status"] for c in result["cells"]] == ["ok", "ok"]
    for c in result["cells"]:
        assert len(c["returns_per_seed"]) == 2 and c["seeds"] == 2
        assert c["ci95"][0] <= c["mean"] <= c["ci95"][1]
        assert c["wall_seconds"] > 0 and c["steps_per_second"] > 0
        assert any(p["source"] == "zoo" for p in c["published"])
    assert set(result["aggregate"]["per_recipe"]) == {"ppo", "trpo"}
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["cells"] == json.loads(json.dumps(result["cells"]))
    md = (tmp_path / "report" / "tiny.md").read_text()
    assert "| ppo | CartPole-v1 |" in md and "rl-baselines3-zoo" in md
    assert (tmp_path / "report" / "tiny_curves.png").exists()

    logs.clear()
    again = run_benchmark(suite, out, report_dir=tmp_path / "report", log=logs.append)
    assert "2 already done, 0 to run" in logs[0]
    assert again["cells"] == result["cells"]

    (out / "cells" / "trpo-CartPole-v1" / "benchmark_cell.json").unlink()  # killed mid-cell
    logs.clear()
    third = run_benchmark(suite, out, report_dir=tmp_path / "report", log=logs.append)
    assert "1 already done, 1 to run" in logs[0]
    assert third["cells"][0] == result["cells"][0]
    # the compiled program is deterministic: the rerun cell gives the same returns
    assert third["cells"][1]["returns_per_seed"] == result["cells"][1]["returns_per_seed"]

    # a selection runs only its cells, and the results still hold every finished cell
    logs.clear()
    part = run_benchmark(suite, out, recipes=("ppo",), log=logs.append)
    assert "1 already done, 0 to run" in logs[0]
    assert [c["cell"] for c in part["cells"]] == ["ppo-CartPole-v1", "trpo-CartPole-v1"]

    other = Suite.from_dict({**TINY, "seed": 7})
    with pytest.raises(ConfigError, match="different run"):
        run_benchmark(other, out, log=logs.append)

    # every row stores its learning curve: the report redraws without the run directories
    results_copy = tmp_path / "kept.json"
    shutil.copy(out / "results.json", results_copy)
    metrics = load_metrics(out / "cells" / "ppo-CartPole-v1")
    curve = result["cells"][0]["curve"]
    assert curve["steps"][-1] == metrics["time/total_timesteps"][0, -1]
    last = [row[-1] for row in curve["return_per_seed"]]
    assert last == pytest.approx(metrics["rollout/ep_rew_mean"][:, -1], abs=0.01)
    shutil.rmtree(out)
    report = tmp_path / "report"
    (report / "tiny_curves.png").unlink()
    redrawn = refresh_report(results_copy, out, report, suite=suite, log=logs.append)
    assert redrawn["cells"] == json.loads(json.dumps(part["cells"]))
    assert (report / "tiny_curves.png").exists() and "| ppo | CartPole-v1 |" in (
        report / "tiny.md"
    ).read_text()
    with pytest.raises(ConfigError, match="holds suite 'tiny'"):
        refresh_report(results_copy, out, report, suite=load_suite("classic"))


def test_a_finished_cell_whose_settings_changed_since_is_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same suite, but the library now resolves the spec to other settings (a new preset or
    environment default): the stored result is stale and the cell runs again."""
    from policyopt.experiments import benchmark

    suite = Suite.from_dict({**TINY, "recipes": ["ppo"]})
    (cell,) = suite.cells()
    run_dir = tmp_path / "cells" / cell.name
    run_dir.mkdir(parents=True)
    from policyopt.experiments.training import write_spec
    from policyopt.runs import save_run

    write_spec(run_dir, cell.spec)
    info = cell.spec.to_json() | {"normalization": {"obs": False, "reward": False}}
    save_run(run_dir, cell.spec.config(), {"m": np.zeros((2, 1))}, np.zeros((2, 1)), {}, info,
             tensorboard=False)  # fmt: skip
    (run_dir / "benchmark_cell.json").write_text(json.dumps({"status": "ok"}))
    import time

    # a cell landed before cells recorded their date: its file's day stands in
    today = time.strftime("%Y-%m-%d")
    assert benchmark._finished(cell, tmp_path) == {"status": "ok", "date": today}
    monkeypatch.setattr(type(cell.spec), "normalization", lambda self: (True, False))
    assert benchmark._finished(cell, tmp_path) is None


def test_a_killed_host_cell_of_stale_settings_trains_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt_update: Any
) -> None:
    """A cell killed mid-run (checkpoints, no config.json yet) whose settings have changed
    since: its checkpoints are refused for resuming, so it trains anew with today's settings
    instead of failing (the mujoco suite's TRPO Ant cell did, after a default changed)."""
    from policyopt.experiments import benchmark

    envs = {"CartPole-v1": {"steps": 4096, "score_range": [22.0, 475.0]}}
    suite = Suite.from_dict({**TINY, "recipes": ["ppo"], "level": "host", "envs": envs})
    (cell,) = suite.cells()
    run_dir = tmp_path / "cells" / cell.name
    restore = interrupt_update(2)
    with pytest.raises(KeyboardInterrupt):
        benchmark._run_cell(cell, str(tmp_path))
    restore()
    assert list((run_dir / "checkpoints").glob("*.ckpt"))
    assert not (run_dir / "config.json").exists()
    monkeypatch.setattr(type(cell.spec), "normalization", lambda self: (True, False))
    res = benchmark._run_cell(cell, str(tmp_path))
    assert res["status"] == "ok", res.get("error")
    run = json.loads((run_dir / "config.json").read_text())["run"]
    assert run["normalization"]["obs"] is True


def test_a_stale_host_cell_trains_again_from_scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A finished host cell whose settings are stale is not resumed from its checkpoints
    (they hold the old settings and would be refused): it trains anew with today's."""
    from policyopt.experiments import benchmark

    envs = {"CartPole-v1": {"steps": 512, "score_range": [22.0, 475.0]}}
    suite = Suite.from_dict({**TINY, "recipes": ["ppo"], "level": "host", "envs": envs})
    (cell,) = suite.cells()
    run_dir = tmp_path / "cells" / cell.name
    first = benchmark._run_cell(cell, str(tmp_path))
    assert first["status"] == "ok", first.get("error")
    (run_dir / "benchmark_cell.json").write_text(json.dumps(first))
    monkeypatch.setattr(type(cell.spec), "normalization", lambda self: (True, False))
    assert benchmark._finished(cell, tmp_path) is None
    second = benchmark._run_cell(cell, str(tmp_path))
    assert second["status"] == "ok", second.get("error")
    run = json.loads((run_dir / "config.json").read_text())["run"]
    assert run["normalization"]["obs"] is True


def test_every_preset_entry_builds_its_recipe_config() -> None:
    """A preset is applied when a user trains the pair: a field its recipe does not have (e.g.
    an entropy bonus copied into MDPO's entry) or a value out of range must fail here, not in
    the user's run. Run fields (normalisation) are RunSpec's, not the config's."""
    from policyopt.configs import make_config
    from policyopt.presets import PRESETS, RUN_FIELDS, preset, preset_run

    for (algo, env_id), (entry, steps) in PRESETS.items():
        overrides, _ = preset(algo, env_id)
        config = make_config(algo, **overrides)
        for key, value in overrides.items():
            assert getattr(config, key) == value, (algo, env_id, key)
        assert set(preset_run(algo, env_id)) <= set(RUN_FIELDS)
        assert set(overrides) | set(preset_run(algo, env_id)) == set(entry)
        assert steps > 0, (algo, env_id)


def test_every_classic_pair_has_a_preset_tuned_on_other_seeds() -> None:
    """The classic suite runs on presets only (rl-zoo3's entries or our tuning on seeds
    1000-1003, ``benchmarks/results/tuning.json``), each with the suite's budget."""
    from policyopt.presets import PRESETS

    suite = load_suite("classic")
    for cell in suite.cells():
        entry = PRESETS.get((cell.recipe, cell.env.env_id))
        assert entry is not None, cell.name
        # the suite's budget, or the preset's own (CartPole's mirror-descent entries: 2e5)
        assert entry[1] >= cell.env.steps, cell.name
    tuning = json.loads((Path(__file__).parents[1] / "benchmarks/results/tuning.json").read_text())
    assert all(min(row["seeds"]) >= 1000 for row in tuning.values())
    assert suite.seed + suite.seeds <= 1000  # reporting seeds 0-4


def test_report_only_refuses_training_options_and_a_missing_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from policyopt.cli import app

    args = ["benchmark", "classic", "--report-only", "--results", str(tmp_path / "r.json")]
    res = CliRunner().invoke(app, [*args, "--seeds", "3", "--workers", "2"])
    assert res.exit_code == 2 and "drop --seeds, --workers" in res.output
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "does not exist" in res.output


def test_update_merges_new_cells_into_a_results_file_whose_runs_are_gone(
    tmp_path: Path,
) -> None:
    """``--update``: a results file (the committed one, its run directories deleted) keeps
    its rows for the cells not rerun, and a rerun cell replaces its row; every row says the
    commit it ran at, and the report says when they differ."""
    suite = Suite.from_dict(TINY)
    first = run_benchmark(suite, tmp_path / "a", log=lambda _: None)
    results = tmp_path / "results.json"
    committed = json.loads((tmp_path / "a" / "results.json").read_text())
    for row in committed["cells"]:  # as rows written before rows stored curves and commits
        row.pop("commit"), row.pop("date"), row.pop("curve"), row.pop("cpu", None)
    committed["commit"], committed["date"] = "0ld0ld0", "2026-01-01"
    committed["cells"][1]["mean"] = -1.0  # marks the row a rerun must replace
    results.write_text(json.dumps(committed))
    shutil.rmtree(tmp_path / "a")

    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "tiny_curves.png").write_bytes(b"drawn from the gone runs")
    logs: list[str] = []
    merged = run_benchmark(
        suite, tmp_path / "b", recipes=("trpo",), results_path=results,
        report_dir=tmp_path / "report", update=True, log=logs.append,
    )  # fmt: skip
    assert (
        f"1 to run (local); the results hold every finished cell of the suite (2 now: 2 from "
        f"{results}, of which 1 run again now)" in logs[0]
    )
    ppo, trpo = merged["cells"]
    assert ppo == committed["cells"][0] | {"commit": "0ld0ld0", "date": "2026-01-01"}
    assert trpo["mean"] == first["cells"][1]["mean"] != -1.0
    assert trpo["commit"] != "0ld0ld0" and trpo["curve"] is not None
    assert json.loads(results.read_text())["cells"] == json.loads(json.dumps(merged["cells"]))
    assert set(merged["aggregate"]["per_recipe"]) == {"ppo", "trpo"}
    md = (tmp_path / "report" / "tiny.md").read_text()
    assert "cells ran in several invocations: 1 at commit 0ld0ld0 (2026-01-01)" in md
    # each new row records the CPU it ran on; the old row did not, and the report says so
    assert trpo["cpu"] == cpu_model() and "cpu" not in ppo
    if cpu_model() is not None:
        assert f"Cells ran on more than one CPU (1 on {cpu_model()}, 1 unrecorded)" in md
    # the ppo row has no curve: the old figure stays, the rerun cell's curve is drawn apart
    assert (tmp_path / "report" / "tiny_curves.png").read_bytes() == b"drawn from the gone runs"
    assert (tmp_path / "report" / "tiny_curves_rerun.png").exists()
    assert "ran again since (the figure shows their earlier runs): trpo-CartPole-v1." in md

    # a second merge keeps each row's own provenance, not the last invocation's commit
    again = json.loads(results.read_text())
    again["cells"][0]["commit"] = None  # a row that landed before cells recorded a commit
    results.write_text(json.dumps(again))
    kept = run_benchmark(suite, tmp_path / "b", recipes=("trpo",), results_path=results,
                         update=True, log=lambda _: None)  # fmt: skip
    assert kept["cells"][0]["commit"] is None and kept["cells"][1] == trpo

    with pytest.raises(ConfigError, match=r"--update.*not 'tiny' with 3 from 0"):
        run_benchmark(suite, tmp_path / "c", seeds=3, results_path=results, update=True)
    with pytest.raises(ConfigError, match=r"--update.*does not exist"):
        run_benchmark(suite, tmp_path / "c", results_path=tmp_path / "no.json", update=True)


def test_a_row_that_ran_before_its_preset_says_so() -> None:
    from policyopt.experiments.benchmark_report import _settings

    row = {"recipe": "ppo", "env": "LunarLander-v3", "preset": False, "env_defaults": "x"}
    assert _settings(row) == "defaults: x (ran before its preset)"
    assert _settings(row | {"env": "NoPreset-v0"}) == "defaults: x"
    assert _settings(row | {"preset": True}) == "preset"


def test_tuned_env_kwargs_are_the_suites_env_kwargs() -> None:
    """The arguments a preset warns about are those its suite made the env with, both ways:
    a suite that adds or changes an env's kwargs must say so where presets look."""
    from policyopt.experiments.benchmark import BUILTIN_SUITES, load_suite
    from policyopt.presets import TUNED_ENV_KWARGS

    made = {
        e.env_id: dict(e.env_kwargs)
        for name in BUILTIN_SUITES
        for e in load_suite(name).envs
        if e.env_kwargs
    }
    assert made == TUNED_ENV_KWARGS
    assert made["Ant-v5"] == {"include_cfrc_ext_in_observation": False}


def test_a_preset_on_an_env_made_otherwise_says_how_to_make_the_tuned_one() -> None:
    from policyopt.presets import preset_env_note

    note = preset_env_note("ppo", "Ant-v5", {})
    assert note is not None and "--env-kwarg include_cfrc_ext_in_observation=false" in note
    assert preset_env_note("npg", "Ant-v5", {"include_cfrc_ext_in_observation": True})
    assert preset_env_note("ppo", "Ant-v5", {"include_cfrc_ext_in_observation": False}) is None
    assert preset_env_note("ppo", "HalfCheetah-v5", {}) is None  # tuned as registered
    assert preset_env_note("ppo", "Humanoid-v5", {}) is None  # no preset, nothing to warn of


def test_train_run_warns_before_it_touches_the_run_dir(tmp_path: Path) -> None:
    """Sweeps and Python runs get the warning too (a sweep does not inherit a suite's
    env_kwargs), and it comes before anything is written; a run that passes them gets none."""
    import warnings

    pytest.importorskip("envpool")
    from policyopt.experiments import RunSpec, train_run
    from policyopt.experiments.rundir import RunExistsError
    from policyopt.presets import PresetEnvWarning

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("not a run")
    warned = pytest.warns(PresetEnvWarning, match="include_cfrc_ext_in_observation")
    with warned, pytest.raises(RunExistsError):
        train_run(RunSpec("ppo", "Ant-v5", steps=2048), taken)
    assert RunSpec("ppo", "Ant-v5", use_preset=False).preset_env_note() is None
    tuned = RunSpec(
        "ppo", "Ant-v5", steps=2048,
        overrides={"env_kwargs": {"include_cfrc_ext_in_observation": False}},
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as seen, pytest.raises(RunExistsError):
        warnings.simplefilter("always")
        train_run(tuned, taken)
    assert not [w for w in seen if issubclass(w.category, PresetEnvWarning)]
