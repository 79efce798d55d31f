"""``policyopt benchmark``: recipes × environments × seeds from a suite file, with statistics.

A suite (YAML; the built-in ones are ``classic``, ``box2d`` and ``mujoco`` in
``policyopt/suites/``)::

    name: classic
    seeds: 5                  # reporting seeds seed, seed+1, ... (presets are tuned on >= 1000)
    seed: 0
    level: compiled           # compiled | host | auto (RunSpec.level)
    run: {normalize_obs: true}            # optional RunSpec fields for every cell
    set: {trpo.damping: 0.01}             # optional config overrides ("algo.field": one recipe)
    recipes: [ppo, trpo, ratio/kl_reverse:constraint/natural_linesearch]
    envs:
      CartPole-v1: {steps: 100000, score_range: [22.0, 475.0]}

A *cell* is one (recipe, environment) pair with all its seeds: one run directory under
``<out>/cells/``, trained in a process of its own (``executor="local"``, ``workers`` at a time)
or as a Ray task (``executor="ray"``). Every cell's result is written to the results file as
soon as it lands, so a killed benchmark keeps what finished; running the same command again
skips the finished cells (their spec must match, else the run is refused and names the cell)
and reruns the rest (a host cell continues from its checkpoints).

Per cell the results hold the final deterministic evaluation return of each seed, its mean,
interquartile mean (IQM) and 95% bootstrap CI of the mean, wall time and steps per second, and
every published number for the same recipe and environment family
(``policyopt/suites/published.yaml``), each flagged where its budget, statistic or environment
version is not ours. Across cells: the rliable-style aggregate of normalised scores (IQM and
optimality gap with 95% stratified bootstrap CIs; probability of improvement between every pair
of recipes, Agarwal et al. 2021), a learning-curve grid with bands, and a Markdown report.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from policyopt.composition import display_name, file_safe, parse_recipe
from policyopt.configs import with_added_fields
from policyopt.env_kwargs import NO_ENV_KWARGS, EnvKwargs
from policyopt.errors import ConfigError, check_choice, check_int
from policyopt.experiments.executors import map_in_processes, map_on_ray
from policyopt.experiments.sweep import overrides_for
from policyopt.experiments.training import LEVELS, RUN_FIELDS, RunSpec, train_run
from policyopt.runs import atomic_write_text, json_safe

__all__ = [
    "BUILTIN_SUITES",
    "Cell",
    "EnvEntry",
    "Suite",
    "load_published",
    "load_suite",
    "optimality_gap",
    "probability_of_improvement",
    "published_columns",
    "refresh_report",
    "run_benchmark",
    "stored_curve",
]

SUITES_DIR = Path(__file__).resolve().parent.parent / "suites"
BUILTIN_SUITES = ("classic", "box2d", "mujoco")
EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class EnvEntry:
    """One environment of a suite: its budget and the range that normalises its scores.

    ``score_range = (low, high)``: a normalised score is ``(x − low) / (high − low)``, 0 at a
    random policy's return and 1 at the reference (the env's solved threshold).
    """

    env_id: str
    steps: int
    score_range: tuple[float, float]
    #: the environment's keyword arguments for every cell (``BaseConfig.env_kwargs``)
    env_kwargs: EnvKwargs = NO_ENV_KWARGS


@dataclass(frozen=True)
class Cell:
    """One (recipe, environment) pair of a suite with all its seeds."""

    name: str
    recipe: str
    env: EnvEntry
    spec: RunSpec


@dataclass(frozen=True)
class Suite:
    name: str
    recipes: tuple[str, ...]
    envs: tuple[EnvEntry, ...]
    seeds: int = 5
    seed: int = 0
    level: str = "auto"
    run: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "suite") -> Suite:
        """Validate a parsed suite file; every problem names its key."""
        known = {"name", "seeds", "seed", "level", "run", "set", "recipes", "envs"}
        for key in d:
            if key not in known:
                raise ConfigError(source, key, f"unknown key; allowed: {', '.join(sorted(known))}")
        for key in ("name", "recipes", "envs"):
            if key not in d:
                raise ConfigError(source, key, "is required")
        name = str(d["name"])
        if name in ("", ".", "..") or any(c in name for c in "/\\"):
            raise ConfigError(source, "name", f"must be a plain directory name, got {name!r}")
        envs_raw = d["envs"]
        if not isinstance(envs_raw, dict) or not envs_raw:
            raise ConfigError(source, "envs", "must map env ids to {steps, score_range}")
        envs = []
        for env_id, e in envs_raw.items():
            if not isinstance(e, dict) or set(e) - {"steps", "score_range", "env_kwargs"}:
                raise ConfigError(
                    source,
                    f"envs.{env_id}",
                    "must be a mapping with keys steps, score_range (and optionally env_kwargs)",
                )
            check_int(source, f"envs.{env_id}.steps", e.get("steps", 0), 1)
            rng = e.get("score_range")
            if (
                not isinstance(rng, list | tuple)
                or len(rng) != 2
                or not all(isinstance(v, int | float) for v in rng)
                or not rng[1] > rng[0]
            ):
                raise ConfigError(
                    source, f"envs.{env_id}.score_range", f"must be [low, high] with high > low, "
                    f"got {rng!r}"
                )  # fmt: skip
            kwargs = EnvKwargs.coerce(source, f"envs.{env_id}.env_kwargs", e.get("env_kwargs"))
            envs.append(
                EnvEntry(str(env_id), int(e["steps"]), (float(rng[0]), float(rng[1])), kwargs)
            )
        recipes = d["recipes"] if isinstance(d["recipes"], list) else [d["recipes"]]
        run = dict(d.get("run") or {})
        for key in run:
            check_choice(source, f"run.{key}", key, [f for f in RUN_FIELDS if f != "level"])
        suite = cls(
            name=name,
            recipes=tuple(str(r) for r in recipes),
            envs=tuple(envs),
            seeds=d.get("seeds", 5),
            seed=d.get("seed", 0),
            level=str(d.get("level", "auto")),
            run=run,
            fixed=dict(d.get("set") or {}),
        )
        check_int(source, "seeds", suite.seeds, 1)
        check_int(source, "seed", suite.seed, 0)
        check_choice(source, "level", suite.level, LEVELS)
        if not suite.recipes:
            raise ConfigError(source, "recipes", "must name at least one recipe")
        return suite

    def cells(
        self,
        recipes: tuple[str, ...] | None = None,
        envs: tuple[str, ...] | None = None,
        seeds: int | None = None,
    ) -> list[Cell]:
        """The suite's cells (optionally a subset), each config validated here: a bad recipe,
        field or env id fails before any cell trains."""
        for given, allowed, key in (
            (recipes, self.recipes, "--recipes"),
            (envs, tuple(e.env_id for e in self.envs), "--envs"),
        ):
            for g in given or ():
                check_choice("benchmark", key, g, allowed)
        out = []
        for entry in self.envs:
            if envs and entry.env_id not in envs:
                continue
            for recipe in self.recipes:
                if recipes and recipe not in recipes:
                    continue
                name, _ = parse_recipe(recipe)
                overrides = overrides_for(self.fixed, name)
                if entry.env_kwargs:
                    overrides["env_kwargs"] = json.loads(json.dumps(entry.env_kwargs))  # as stored
                spec = RunSpec(
                    recipe,
                    entry.env_id,
                    seeds=seeds or self.seeds,
                    seed=self.seed,
                    steps=entry.steps,
                    overrides=overrides,
                    level=self.level,
                    **self.run,
                )
                spec.check()  # config, env id and extras, before anything trains
                cell_name = f"{file_safe(recipe)}-{entry.env_id}"
                out.append(Cell(cell_name, recipe, entry, spec))
        return out


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name (``classic``, ``box2d``, ``mujoco``) or a YAML file."""
    import yaml

    path = Path(name_or_path)
    if str(name_or_path) in BUILTIN_SUITES:
        path = SUITES_DIR / f"{name_or_path}.yaml"
    elif not path.is_file():
        raise ConfigError(
            "benchmark",
            "SUITE",
            f"{name_or_path!r} is neither a built-in suite ({', '.join(BUILTIN_SUITES)}) "
            "nor a YAML file",
        )
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError("benchmark", "SUITE", f"{path}: not valid YAML ({err})") from err
    if not isinstance(data, dict):
        raise ConfigError("benchmark", "SUITE", f"{path}: expected a mapping at the top level")
    return Suite.from_dict(data, source=f"suite {path.name}")


# --------------------------------------------------------------------------- published numbers


def env_family(env_id: str) -> str:
    """``LunarLander-v3`` → ``LunarLander``: what a published number on another version of the
    same environment is matched by (and then flagged)."""
    base, sep, version = env_id.rpartition("-v")
    return base if sep and version.isdigit() else env_id


@functools.cache
def load_published() -> dict[str, Any]:
    """``policyopt/suites/published.yaml``: ``{"sources": {...}, "entries": [...]}``."""
    import yaml

    return dict(yaml.safe_load((SUITES_DIR / "published.yaml").read_text()))


#: A published algorithm that is one of our recipes under another name: SB3's and Tianshou's
#: A2C is ``pg`` (the paper's vanilla policy gradient with a critic, SB3's A2C defaults).
PUBLISHED_AS = {"a2c": "pg"}


def published_for(algo: str, env_id: str, steps: int) -> list[dict[str, Any]]:
    """Every published number for ``algo`` (or its name at the source, :data:`PUBLISHED_AS`)
    on ``env_id``'s family, with what differs from our cell (``same_budget``,
    ``same_statistic``, ``same_env``) and the source's citation; same-budget final values
    first."""
    data = load_published()
    rows = []
    for e in data["entries"]:
        recipe = PUBLISHED_AS.get(e["algo"], e["algo"])
        if recipe != algo or env_family(e["env"]) != env_family(env_id):
            continue
        src = data["sources"][e["source"]]
        row = dict(e) | {
            "cite": src["cite"],
            "source_note": src["note"],
            "same_budget": e["steps"] == steps,
            "same_statistic": e["statistic"] == "final",
            "same_env": e["env"] == env_id,
        }
        rows.append(row)
    rows.sort(key=lambda r: (not r["same_budget"], not r["same_statistic"], not r["same_env"]))
    return rows


# --------------------------------------------------------------------------- statistics


def optimality_gap(scores: np.ndarray, target: float = 1.0) -> float:
    """Mean shortfall of normalised scores below ``target`` (rliable's optimality gap): runs
    above the target count as 0, so it rewards reaching the reference everywhere."""
    return float(np.mean(target - np.minimum(np.asarray(scores, np.float64), target)))


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) averaged over tasks: per task (column), the Mann–Whitney probability that a run
    of X beats a run of Y (ties count ½), Agarwal et al. (2021). ``x``, ``y``: [runs, tasks]."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    per_task = []
    for j in range(x.shape[1]):
        a, b = x[:, j][:, None], y[:, j][None, :]
        per_task.append(float(np.mean((a > b) + 0.5 * (a == b))))
    return float(np.mean(per_task))


def cell_stats(returns: np.ndarray) -> dict[str, Any]:
    """Mean, IQM and 95% bootstrap CI of the mean of per-seed final evaluation returns."""
    from policyopt.plots import bootstrap_ci, iqm

    r = np.asarray(returns, np.float64)
    lo, hi = bootstrap_ci(r[:, None])
    return {
        "returns_per_seed": r.tolist(),
        "mean": float(r.mean()),
        "std": float(r.std()),
        "iqm": iqm(r),
        "ci95": [float(lo[0]), float(hi[0])],
    }


# --------------------------------------------------------------------------- running


def _run_cell(cell: Cell, out: str) -> dict[str, Any]:
    """Train one cell into ``<out>/cells/<name>``; never raises (a failure is a result).

    A directory left by a killed run is continued: a host run from its segment checkpoints,
    a compiled run (one program, no segments) from the start. A directory whose run resolved
    to other settings than the spec does today (a preset or default added since: a stale
    result, see :func:`_finished`, or a killed run's checkpoints of the old settings, which
    resuming refuses before anything trains) is trained again from scratch.
    """
    from policyopt.experiments.training import ResumeMismatchError

    run_dir = Path(out) / "cells" / cell.name
    t0 = time.perf_counter()
    try:
        partial = (run_dir / "spec.json").exists()
        stale = (run_dir / "config.json").exists() and _settings_of(cell.spec) != _stored_settings(
            run_dir
        )
        resume = partial and not stale and cell.spec.resolved_level() == "host"
        try:
            summary = train_run(cell.spec, run_dir, resume=resume, overwrite=partial and not resume)
        except ResumeMismatchError:
            if _stored_spec(run_dir) != cell.spec:
                raise  # another suite's run in this --out: not ours to overwrite
            # the same spec, killed before config.json, checkpoints of the old settings
            summary = train_run(cell.spec, run_dir, overwrite=True)
        return {"status": "ok", "wall_seconds": time.perf_counter() - t0, **summary}
    except Exception as err:  # reported in the results; the other cells go on
        return {
            "status": "failed",
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(),
            "wall_seconds": time.perf_counter() - t0,
        }


def _finished(cell: Cell, out: Path) -> dict[str, Any] | None:
    """A previous invocation's result for ``cell`` when its run is complete and is this spec."""
    run_dir = out / "cells" / cell.name
    result = run_dir / "benchmark_cell.json"
    if not result.exists():
        return None
    if _stored_spec(run_dir) != cell.spec:
        raise ConfigError(
            "benchmark",
            "--out",
            f"{run_dir} holds a different run of {cell.name} (its spec.json differs from the "
            "suite's); use another --out or remove that cell's directory",
        )
    if _settings_of(cell.spec) != _stored_settings(run_dir):
        return None  # the same spec now resolves to other settings (a new preset or default)
    res = dict(json.loads(result.read_text()))
    if "date" not in res:  # landed before cells recorded when: the file's day, commit unknown
        res["date"] = time.strftime("%Y-%m-%d", time.localtime(result.stat().st_mtime))
    return res


def _stored_spec(run_dir: Path) -> RunSpec:
    from policyopt.experiments.training import spec_from_json

    return spec_from_json(json.loads((run_dir / "spec.json").read_text()), run_dir)


def _settings_of(spec: RunSpec) -> dict[str, Any]:
    """What a spec resolves to today: its config, and the normalisation it runs with."""
    from policyopt.runs import json_safe

    cfg = json.loads(json.dumps(json_safe(dataclasses.asdict(spec.config())), default=list))
    return {"config": cfg, "normalization": list(spec.normalization())}


def _stored_settings(run_dir: Path) -> dict[str, Any]:
    raw = json.loads((run_dir / "config.json").read_text())
    run = raw.pop("run", {})
    algo = raw.pop("algo", None)
    resolved = run.get("normalization", {})
    normalization = [resolved.get("obs", False), resolved.get("reward", False)]
    return {"config": with_added_fields(raw, algo), "normalization": normalization}


#: points a cell's stored learning curve keeps (of every seed): enough for the report's grid
CURVE_POINTS = 100


def stored_curve(run_dir: Path) -> dict[str, Any] | None:
    """A cell's learning curve for its results row: ``rollout/ep_rew_mean`` of every seed at
    up to :data:`CURVE_POINTS` updates (evenly spaced, the last included), so the report can
    be redrawn from the results file alone, after the run directories are gone."""
    from policyopt.runs import load_metrics

    try:
        m = load_metrics(run_dir)
        x, y = m["time/total_timesteps"][0], m["rollout/ep_rew_mean"]
    except (OSError, ValueError, KeyError, IndexError):
        return None  # no or unreadable metrics: the row goes without a curve, the suite on
    idx = np.unique(np.linspace(0, len(x) - 1, min(CURVE_POINTS, len(x))).round().astype(int))
    return {
        "steps": [int(v) for v in x[idx]],
        "return_per_seed": [[round(float(v), 2) for v in seed[idx]] for seed in y],
    }


def published_columns(recipe: str, env_id: str, steps: int, mean: float) -> dict[str, Any]:
    """``published`` (every number for the pair) and, where one has our budget and
    statistic, ``vs_published`` (our mean minus the first such)."""
    published = published_for(recipe, env_id, steps)
    out: dict[str, Any] = {"published": published}
    best = next((p for p in published if p["same_budget"] and p["same_statistic"]), None)
    if best is not None:
        out["vs_published"] = mean - best["mean"]
    return out


def _cell_row(cell: Cell, res: dict[str, Any], run_dir: Path | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "cell": cell.name,
        "recipe": cell.recipe,
        "label": display_name(cell.spec.algo, cell.spec.overrides),
        "env": cell.env.env_id,
        "env_kwargs": dict(cell.env.env_kwargs),
        "steps": cell.env.steps,
        "seeds": cell.spec.seeds,
        "seed": cell.spec.seed,
        "preset": _has_preset(cell.spec.algo, cell.env.env_id),
        "env_defaults": _defaults_kind(cell.spec),
        "status": res["status"],
        "wall_seconds": res.get("wall_seconds"),
        "commit": res.get("commit"),
        "date": res.get("date"),
    } | ({"cpu": res["cpu"]} if res.get("cpu") else {})
    if res["status"] != "ok":
        return row | {"error": res.get("error")}
    stats = cell_stats(np.asarray(res["eval_mean_return_per_seed"]))
    row |= stats | {
        "compile_seconds": res.get("compile_seconds"),
        "run_seconds": res.get("run_seconds"),
        "steps_per_second": res.get("steps_per_second"),
    }
    row |= published_columns(cell.spec.algo, cell.env.env_id, cell.env.steps, stats["mean"])
    curve = stored_curve(run_dir) if run_dir is not None else None
    return row | ({"curve": curve} if curve is not None else {})


def refresh_report(
    results_path: str | Path,
    out: str | Path | None = None,
    report_dir: str | Path | None = None,
    suite: Suite | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Rewrite a results file's published columns and aggregate from today's
    ``published.yaml`` and suite file, and redraw its report, without training.

    Curves are the ones the results rows store, else (rows written before rows stored
    them) those of the run directories under ``out``; a report whose cells have neither
    keeps its curves figure as it is.
    """
    path = Path(results_path)
    result = json.loads(path.read_text())
    suite = suite or load_suite(result["suite"])
    if result["suite"] != suite.name:
        raise ConfigError(
            "benchmark", "--results", f"{path} holds suite {result['suite']!r}, not {suite.name!r}"
        )
    for row in result["cells"]:
        if row["status"] == "ok":
            row.pop("vs_published", None)
            row |= published_columns(row["recipe"], row["env"], row["steps"], row["mean"])
    for entry in suite.envs:  # the score ranges the aggregate's table and figure both use
        if entry.env_id in result["envs"]:
            result["envs"][entry.env_id]["score_range"] = list(entry.score_range)
    result["aggregate"] = aggregate(result["cells"], suite)
    text = json.dumps(json_safe(result), indent=2, allow_nan=False)
    atomic_write_text(path, text + "\n")
    from policyopt.experiments.benchmark_report import write_report

    runs = Path(out) if out is not None else Path("runs/benchmarks") / result["suite"]
    paths = write_report(result, runs, Path(report_dir) if report_dir else runs)
    log(f"wrote {path}, {', '.join(str(p) for p in paths)}")
    return dict(result)


def _defaults_kind(spec: RunSpec) -> str | None:
    d = spec.env_defaults()
    return None if d is None else d.kind


def _has_preset(algo: str, env_id: str) -> bool:
    from policyopt.presets import PRESETS

    return (algo, env_id) in PRESETS


def run_benchmark(
    suite: Suite,
    out: str | Path,
    executor: str = "local",
    workers: int = 1,
    address: str | None = None,
    recipes: tuple[str, ...] | None = None,
    envs: tuple[str, ...] | None = None,
    seeds: int | None = None,
    results_path: str | Path | None = None,
    report_dir: str | Path | None = None,
    update: bool = False,
    log: Any = print,
) -> dict[str, Any]:
    """Run every unfinished cell, then write the results file, report and figures.

    ``results_path`` defaults to ``<out>/results.json`` and ``report_dir`` to ``out``
    (``<suite>.md`` and its figures). Returns the results (what the file holds).

    ``update``: the results file already holds this suite (e.g. the committed one, whose run
    directories are gone); its rows are kept for the cells ``out`` has not finished, and the
    cells finished under ``out`` (run now or before) replace theirs. Every row records the
    commit and date it ran at, so a merged table says which cells are newer.
    """
    check_choice("benchmark", "--executor", executor, EXECUTORS)
    check_int("benchmark", "--workers", workers, 1)
    if seeds is not None:
        check_int("benchmark", "--seeds", seeds, 1)
    selected = suite.cells(recipes, envs, seeds)  # all validated before the first trains
    cells = suite.cells(seeds=seeds) if recipes or envs else selected
    out = Path(out)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    results_file = Path(results_path) if results_path else out / "results.json"
    kept = _rows_to_keep(results_file, suite, cells) if update else {}
    rows: dict[str, dict[str, Any]] = {}
    todo = []
    for cell in cells:
        chosen = cell in selected
        try:
            done = _finished(cell, out)
        except ConfigError:
            if chosen:
                raise
            continue  # another run of a cell not selected now: not part of these results
        if done is not None:
            rows[cell.name] = _cell_row(cell, done, out / "cells" / cell.name)
        elif chosen:
            todo.append(cell)
    from_file = [name for name in kept if name not in rows]
    rerun = set(from_file) & {c.name for c in todo}  # their rows are replaced when they land
    rows = {c.name: rows.get(c.name) or kept[c.name] for c in cells if c.name in rows | kept}
    log(
        f"benchmark {suite.name}: {len(selected)} cells × {seeds or suite.seeds} seeds, "
        f"{len(selected) - len(todo)} already done, {len(todo)} to run ({executor}); "
        f"the results hold every finished cell of the suite ({len(rows)} now"
        + (f": {len(from_file)} from {results_file}, of which {len(rerun)} run again now)"
           if kept else ")")
    )  # fmt: skip
    t0 = time.perf_counter()

    def landed(cell: Cell, res: dict[str, Any]) -> None:
        res |= {"commit": _commit(), "date": time.strftime("%Y-%m-%d"), "cpu": cpu_model()}
        if res["status"] == "ok":  # marks the cell finished for a later invocation
            text = json.dumps(json_safe(res), indent=2, allow_nan=False)
            atomic_write_text(out / "cells" / cell.name / "benchmark_cell.json", text + "\n")
        rows[cell.name] = _cell_row(cell, res, out / "cells" / cell.name)
        shown = f"{rows[cell.name]['mean']:.1f}" if res["status"] == "ok" else res["error"]
        log(f"  {cell.name}: {shown} ({res.get('wall_seconds', 0.0):.0f} s)")
        _write_results(suite, cells, rows, results_file, time.perf_counter() - t0)

    run = functools.partial(_run_cell, out=str(out))
    if executor == "ray":
        map_on_ray(run, todo, address, "benchmark", on_result=landed)
    elif todo:
        map_in_processes(run, todo, workers, on_result=landed)
    result = _write_results(suite, cells, rows, results_file, time.perf_counter() - t0)
    from policyopt.experiments.benchmark_report import write_report

    paths = write_report(result, out, Path(report_dir) if report_dir else out)
    log(f"wrote {results_file}, {', '.join(str(p) for p in paths)}")
    return result


def _rows_to_keep(path: Path, suite: Suite, cells: list[Cell]) -> dict[str, dict[str, Any]]:
    """``--update``: the rows of an existing results file of this suite and seeds, each with
    the commit and date it ran at (rows older than per-row provenance: the file's)."""
    if not path.exists():
        raise ConfigError("benchmark", "--update", f"{path} does not exist: nothing to update")
    old = json.loads(path.read_text())
    seeds = cells[0].spec.seeds if cells else suite.seeds
    theirs = (old.get("suite"), old.get("seeds"), old.get("seed"))
    if theirs != (suite.name, seeds, suite.seed):
        raise ConfigError(
            "benchmark",
            "--update",
            f"{path} holds suite {theirs[0]!r} with {theirs[1]} seeds from {theirs[2]}, not "
            f"{suite.name!r} with {seeds} from {suite.seed}: rows of other seeds do not merge",
        )
    names = {c.name for c in cells}
    # a file older than per-row provenance ran all its rows at its own commit; in a newer one
    # a row without a commit is one that landed before cells recorded it (say so, not guess)
    legacy = not any("commit" in row for row in old["cells"])
    header = {"commit": old.get("commit"), "date": old.get("date")} if legacy else {}
    return {row["cell"]: header | row for row in old["cells"] if row["cell"] in names}


def _write_results(
    suite: Suite,
    cells: list[Cell],
    rows: dict[str, dict[str, Any]],
    path: Path,
    seconds: float,
) -> dict[str, Any]:
    """The results file, rewritten atomically each time a cell lands."""
    import platform

    from policyopt import __version__

    cells = [c for c in cells if c.name in rows]  # finished (or failed) cells only
    ordered = [rows[c.name] for c in cells]
    total = sum(r["wall_seconds"] or 0.0 for r in ordered)
    result = {
        "suite": suite.name,
        "recipes": list(dict.fromkeys(c.recipe for c in cells)),
        "envs": {
            e.env_id: {"steps": e.steps, "score_range": list(e.score_range)}
            | ({"env_kwargs": dict(e.env_kwargs)} if e.env_kwargs else {})
            for e in suite.envs
            if any(c.env == e for c in cells)
        },
        "seeds": cells[0].spec.seeds if cells else suite.seeds,
        "seed": suite.seed,
        "level": suite.level,
        "machine": f"{platform.machine()}, {_cpus()} CPU cores, {platform.system()}",
        "policyopt": __version__,
        "commit": _commit(),
        "date": time.strftime("%Y-%m-%d"),
        "cells_wall_seconds": total,
        "this_invocation_seconds": seconds,
        "cells": ordered,
        "aggregate": aggregate(ordered, suite),
    }
    text = json.dumps(json_safe(result), indent=2, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text + "\n")
    return result


def cpu_model() -> str | None:
    """The CPU's model name (Linux's /proc/cpuinfo, else the platform's), or None.

    Recorded with every cell: the same seed and code give the same numbers on one machine
    only (XLA compiles for the CPU it runs on, and RL amplifies the last bit), so merged rows
    say which machine each one ran on."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    import platform

    return platform.processor() or None


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _commit() -> str | None:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def normalised_scores(
    rows: list[dict[str, Any]], ranges: dict[str, Any]
) -> tuple[list[str], dict[str, np.ndarray]]:
    """``(envs, {recipe: [seeds, envs]})``: normalised final returns over the envs where every
    recipe has a finished cell (the stratified statistics need the same tasks for all).

    ``ranges[env] = (low, high)``; a score is ``(x − low) / (high − low)``.
    """
    ok = [r for r in rows if r["status"] == "ok"]
    labels = list(dict.fromkeys(r["label"] for r in ok))
    envs = [e for e in ranges if all(any(r["label"] == a and r["env"] == e for r in ok)
                                     for a in labels)]  # fmt: skip
    if not labels or not envs:
        return [], {}
    n = min(len(r["returns_per_seed"]) for r in ok if r["env"] in envs)
    scores = {}
    for a in labels:
        cols = []
        for e in envs:
            r = next(r for r in ok if r["label"] == a and r["env"] == e)
            lo, hi = ranges[e]
            cols.append((np.asarray(r["returns_per_seed"][:n]) - lo) / (hi - lo))
        scores[a] = np.stack(cols, axis=1)
    return envs, scores


def aggregate(rows: list[dict[str, Any]], suite: Suite) -> dict[str, Any]:
    """IQM, mean and optimality gap of normalised scores per recipe (95% stratified bootstrap
    CIs) and the probability of improvement of every recipe over every other."""
    from policyopt.plots import iqm, stratified_bootstrap_ci

    envs, scores = normalised_scores(rows, {e.env_id: e.score_range for e in suite.envs})
    if not scores:
        return {}
    per = {}
    for a, s in scores.items():
        per[a] = {
            name: list(stratified_bootstrap_ci(s, fn, n_boot=1000))
            for name, fn in (
                ("iqm", iqm),
                ("mean", lambda x: float(np.mean(x))),
                ("optimality_gap", optimality_gap),
            )
        }
    poi = {a: {b: probability_of_improvement(scores[a], scores[b]) for b in scores if b != a}
           for a in scores}  # fmt: skip
    return {
        "envs": envs,
        "per_recipe": per,
        "probability_of_improvement": poi,
        "statistic": "normalised final return (x - low) / (high - low), score_range per env",
    }
