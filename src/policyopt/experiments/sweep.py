"""Sweeps: grid or random search over recipes × environments × hyperparameters, seeds in each.

A sweep spec (YAML or a dict)::

    name: lr-clip                 # runs land in <runs_dir>/<name>/<trial>/
    runs_dir: runs/sweeps
    algos: [ppo, ppo_kl]
    envs: [CartPole-v1]
    seeds: 3                      # per trial (vmapped for JAX-native envs)
    steps: 50000                  # per seed (default: the preset's budget)
    search: grid                  # grid | random
    samples: 8                    # random search: trials per (algo, env)
    seed: 0                       # random search's sampler seed; base seed of every trial
    params:                       # "field" for every recipe, "algo.field" for one
      learning_rate: [1.0e-3, 3.0e-4]          # grid: a list; random: a list = choice
      ppo.clip_eps: {uniform: [0.1, 0.3]}      # random only: uniform / log_uniform / choice
    set: {num_envs: 8, trpo.vf_batch_size: 256}   # fixed overrides ("algo.field": one recipe)
    # any config field, env_kwargs too: set: {env_kwargs: {include_cfrc_ext_in_observation: false}}
    run: {normalize_obs: true}    # RunSpec fields for every trial (level, normalisation, ...)

Every trial's config is validated before the first one starts. Executors: ``local`` runs
JAX-native trials in this process (seeds vmapped) and host trials in a process pool;
``ray`` submits each trial as a Ray task (``ray.init()`` locally, or ``address`` for an existing
cluster). A failed trial (any exception, including a run stopped by a NaN,
:class:`~policyopt.faults.NonFiniteError`, or by an environment fault) is reported in
``sweep.json`` with ``"status": "failed"`` and its error, and the others continue; no
number in ``sweep.json`` is ever a bare ``NaN`` (JSON ``null`` instead).
"""

from __future__ import annotations

import functools
import itertools
import json
import shutil
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from policyopt.composition import file_safe
from policyopt.errors import ConfigError, check_choice, check_int
from policyopt.experiments.executors import map_in_processes, map_on_ray
from policyopt.experiments.rundir import (
    RUN_MARKERS,
    RunExistsError,
    lock_run_dir,
    prepare_run_dir,
)
from policyopt.experiments.training import RUN_FIELDS, RunSpec, train_run
from policyopt.runs import atomic_write_text, json_safe

__all__ = ["SweepSpec", "Trial", "load_sweep", "run_sweep"]

EXECUTORS = ("local", "ray")
_DISTRIBUTIONS = ("uniform", "log_uniform", "choice")


@dataclass(frozen=True)
class Trial:
    """One point of the sweep: a run spec and its directory name."""

    name: str
    spec: RunSpec
    params: dict[str, Any]


@dataclass(frozen=True)
class SweepSpec:
    name: str
    algos: tuple[str, ...]
    envs: tuple[str, ...]
    params: dict[str, Any]
    fixed: dict[str, Any]
    seeds: int = 1
    steps: int | None = None
    search: str = "grid"
    samples: int = 4
    seed: int = 0
    runs_dir: str = "runs/sweeps"
    run: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SweepSpec:
        known = {
            "name", "algos", "envs", "params", "set", "seeds", "steps", "search", "samples",
            "seed", "runs_dir", "run",
        }  # fmt: skip
        for key in d:
            if key not in known:
                raise ConfigError("sweep", key, f"unknown key; allowed: {', '.join(sorted(known))}")
        for key in ("name", "algos", "envs"):
            if key not in d:
                raise ConfigError("sweep", key, "is required")
        spec = cls(
            name=str(d["name"]),
            algos=tuple(_as_list(d["algos"])),
            envs=tuple(_as_list(d["envs"])),
            params=dict(d.get("params") or {}),
            fixed=dict(d.get("set") or {}),
            seeds=d.get("seeds", 1),
            steps=d.get("steps"),
            search=d.get("search", "grid"),
            samples=d.get("samples", 4),
            seed=d.get("seed", 0),
            runs_dir=str(d.get("runs_dir", "runs/sweeps")),
            run=dict(d.get("run") or {}),
        )
        for key in spec.run:
            check_choice("sweep", f"run.{key}", key, RUN_FIELDS)
        if spec.name in ("", ".", "..") or any(c in spec.name for c in "/\\"):
            raise ConfigError("sweep", "name", f"must be a plain directory name, got {spec.name!r}")
        check_choice("sweep", "search", spec.search, ["grid", "random"])
        check_int("sweep", "seeds", spec.seeds, 1)
        check_int("sweep", "samples", spec.samples, 1)
        return spec


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, list | tuple) else [x]


def load_sweep(path: str | Path) -> SweepSpec:
    """Read a YAML sweep spec; malformed files name the problem."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError("sweep", "SPEC", f"{path}: no such file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError("sweep", "SPEC", f"{path}: not valid YAML ({err})") from err
    if not isinstance(data, dict):
        raise ConfigError("sweep", "SPEC", f"{path}: expected a mapping at the top level")
    return SweepSpec.from_dict(data)


def _applies(key: str, algo: str) -> tuple[bool, str]:
    prefix, dot, field = key.partition(".")
    return (prefix == algo, field) if dot else (True, key)


def _sample(dist: Any, rng: np.random.Generator, key: str) -> Any:
    if isinstance(dist, list):
        return dist[int(rng.integers(len(dist)))]
    if not isinstance(dist, dict) or len(dist) != 1:
        raise ConfigError(
            "sweep", f"params.{key}", f"expected a list or one of {', '.join(_DISTRIBUTIONS)}"
        )
    ((kind, arg),) = dist.items()
    check_choice("sweep", f"params.{key}", kind, _DISTRIBUTIONS)
    if kind == "choice":
        return arg[int(rng.integers(len(arg)))]
    lo, hi = map(float, arg)
    if kind == "uniform":
        return float(rng.uniform(lo, hi))
    if lo <= 0:
        raise ConfigError("sweep", f"params.{key}", f"log_uniform needs low > 0, got {lo}")
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _points(sweep: SweepSpec, algo: str, rng: np.random.Generator) -> list[dict[str, Any]]:
    keys = [(k, f) for k in sweep.params for ok, f in [_applies(k, algo)] if ok]
    if sweep.search == "grid":
        for k, _ in keys:
            if not isinstance(sweep.params[k], list):
                raise ConfigError("sweep", f"params.{k}", "grid search needs a list of values")
        combos = itertools.product(*(sweep.params[k] for k, _ in keys))
        return [{f: v for (_, f), v in zip(keys, c, strict=True)} for c in combos]
    return [{f: _sample(sweep.params[k], rng, k) for k, f in keys} for _ in range(sweep.samples)]


def overrides_for(values: dict[str, Any], algo: str) -> dict[str, Any]:
    """``{"field": v, "algo.field": w}`` → the fields that apply to ``algo``."""
    return {f: v for k, v in values.items() for ok, f in [_applies(k, algo)] if ok}


def _fmt(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def make_trials(sweep: SweepSpec) -> list[Trial]:
    """Every trial, each config validated (``ConfigError`` names trial and field)."""
    rng = np.random.default_rng(sweep.seed)
    trials = []
    for algo, env in itertools.product(sweep.algos, sweep.envs):
        for i, point in enumerate(_points(sweep, algo, rng)):
            tag = ",".join(f"{k}={_fmt(v)}" for k, v in point.items()) or "default"
            name = f"{file_safe(algo)}-{env.replace('/', '_')}-{i:03d}"
            spec = RunSpec(
                algo, env, seeds=sweep.seeds, seed=sweep.seed, steps=sweep.steps,
                overrides={**overrides_for(sweep.fixed, algo), **point}, **sweep.run,
            )  # fmt: skip
            try:
                spec.check()  # config, env id and extras, before anything trains
            except ConfigError as err:
                raise ConfigError("sweep", f"trial {name} ({tag})", str(err)) from err
            trials.append(Trial(name, spec, point))
    return trials


def _run_trial(trial: Trial, out: str) -> dict[str, Any]:
    """Run one trial; never raises (a failure is a result with its traceback)."""
    try:
        summary = train_run(trial.spec, Path(out) / trial.name)
        return {"trial": trial.name, "status": "ok", **summary}
    except Exception as err:  # a failed trial is reported; the sweep goes on
        return {
            "trial": trial.name,
            "status": "failed",
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(),
        }


def run_sweep(
    sweep: SweepSpec,
    executor: str = "local",
    address: str | None = None,
    workers: int = 1,
    log: Any = print,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Run every trial; write ``<runs_dir>/<name>/sweep.json``; return it.

    An existing sweep directory is refused before any trial starts unless ``overwrite``,
    which clears it first (its trial run directories and sweep.json), so results of two
    sweeps never mix.
    """
    check_choice("sweep", "--executor", executor, EXECUTORS)
    check_int("sweep", "--workers", workers, 1)
    trials = make_trials(sweep)
    out = Path(sweep.runs_dir) / sweep.name
    prepare_sweep_dir(out, overwrite)
    log(f"sweep {sweep.name}: {len(trials)} trials × {sweep.seeds} seeds ({executor})")
    if executor == "ray":
        results = _run_ray(trials, str(out), address)
    else:
        results = _run_local(trials, str(out), workers)
    by_name = {r["trial"]: r for r in results}
    rows = []
    for t in trials:
        r = by_name[t.name]
        rows.append({"trial": t.name, "algo": t.spec.algo, "env": t.spec.env_id, **t.params,
                     **{k: v for k, v in r.items() if k != "trial"}})  # fmt: skip
        ret = r.get("eval_mean_return")
        status = r["status"] if r["status"] == "failed" or ret is None else f"{ret:.1f}"
        log(f"  {t.name} {t.params}: {status}")
    result = json_safe({"name": sweep.name, "executor": executor, "trials": rows})
    text = json.dumps(result, indent=2, default=float, allow_nan=False)  # NaN is written null
    atomic_write_text(out / "sweep.json", text + "\n")
    return result


def prepare_sweep_dir(out: Path, overwrite: bool) -> None:
    """Refuse a sweep directory that holds results unless ``overwrite``; then clear it.

    Only what a sweep writes is removed (``sweep.json`` and run directories, each cleared
    by :func:`~policyopt.experiments.rundir.prepare_run_dir`, which refuses anything else).
    """
    entries = sorted(out.iterdir()) if out.is_dir() else []
    if entries and not overwrite:
        raise RunExistsError(
            f"{out} already holds a sweep ({len(entries)} entries); pick another name or "
            "replace it with --overwrite"
        )
    foreign = [e for e in entries if e.name != "sweep.json" and not _is_run_dir(e)]
    if foreign:  # checked before anything is deleted
        raise RunExistsError(
            f"{foreign[0]} is not something a sweep writes; refusing to clear {out}"
        )
    for entry in entries:
        if entry.name == "sweep.json":
            entry.unlink()
            continue
        # A trial still being written (a sweep of the same name running) is refused with the
        # writer's pid; the directory is removed while its lock is held.
        with lock_run_dir(entry):
            prepare_run_dir(entry, resume=False, overwrite=True)
            shutil.rmtree(entry)
    out.mkdir(parents=True, exist_ok=True)


def _is_run_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and any((path / m).exists() for m in RUN_MARKERS)


def _run_local(trials: list[Trial], out: str, workers: int) -> list[dict[str, Any]]:
    compiled = [t for t in trials if t.spec.resolved_level() == "compiled"]
    host = [t for t in trials if t not in compiled]
    results = [_run_trial(t, out) for t in compiled]  # seeds vmapped in-process
    if workers == 1 or len(host) <= 1:
        return results + [_run_trial(t, out) for t in host]
    run = functools.partial(_run_trial, out=out)
    return results + map_in_processes(run, host, workers, fresh=False)


def _run_ray(trials: list[Trial], out: str, address: str | None) -> list[dict[str, Any]]:
    results = map_on_ray(functools.partial(_run_trial, out=out), trials, address, "sweep")
    pairs = zip(trials, results, strict=True)
    return [r if "trial" in r else {"trial": t.name, **r} for t, r in pairs]
