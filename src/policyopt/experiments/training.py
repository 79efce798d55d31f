"""One experiment = one run directory, whichever level trains it.

``train_run`` trains ``seeds`` seeds of a recipe on an environment and writes
``runs/<name>/`` (:mod:`policyopt.runs`: ``config.json``, ``metrics.csv``, ``summary.json``,
TensorBoard files, plots). JAX-native (gymnax) environments train all seeds vmapped in one
compiled program; any other id trains through :class:`policyopt.Agent` on the host, one seed
after another, each with its own checkpoint in ``checkpoints/seed_<k>.ckpt`` written every
segment, on Ctrl-C and at the end, so ``resume_run`` continues an interrupted run exactly.

One process writes a run directory at a time (:mod:`policyopt.experiments.rundir`: a lock,
and an existing run is refused unless resumed or overwritten), and a resume continues only
checkpoints whose recipe, environment, seed, config and settings equal the spec's, field by
field; otherwise the error lists every difference.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from policyopt.agent_meta import (
    check_agent_meta,
    default_checkpoint_every,
    field_differences,
    identity,
)
from policyopt.atomic import atomic_write_text
from policyopt.checkpoint import read_checkpoint
from policyopt.composition import display_name, parse_recipe
from policyopt.configs import CONFIGS, BaseConfig, make_config
from policyopt.env_kwargs import EnvKwargs
from policyopt.errors import ConfigError, check_int, check_range, check_seed
from policyopt.experiments.rundir import (
    RunDirError,
    lock_run_dir,
    prepare_run_dir,
    read_json,
)
from policyopt.faults import (
    NonFiniteError,
    TrainingError,
    check_on_nan,
    good_updates,
    raise_if_nonfinite,
)
from policyopt.presets import PresetEnvWarning, preset, preset_env_note, preset_run
from policyopt.runs import json_safe, metrics_from_histories, save_run, write_tensorboard

if TYPE_CHECKING:
    from policyopt.agent import Agent
    from policyopt.env_defaults import EnvDefaults

__all__ = ["LEVELS", "ResumeMismatchError", "RunSpec", "resume_run", "train_run"]


class ResumeMismatchError(RunDirError):
    """The spec asked to resume differs from what the run directory holds."""


LEVELS = ("auto", "compiled", "host")
#: RunSpec fields a sweep or benchmark file may set for all its runs (``run:``)
RUN_FIELDS = ("level", "normalize_obs", "normalize_reward", "vectorization", "on_nan",
              "step_timeout", "checkpoint_every")  # fmt: skip


@dataclass(frozen=True)
class RunSpec:
    """What to train: everything ``policyopt train`` takes, validated by :meth:`config`.

    Attributes:
        algo: recipe name.
        env_id: Gymnasium, EnvPool or gymnax id.
        seeds: number of seeds (``seed``, ``seed + 1``, …).
        seed: base seed.
        steps: environment steps per seed (default: the preset's budget, else the config's).
        overrides: config fields (after the preset or the environment defaults).
        use_preset: start from :mod:`policyopt.presets` for (algo, env_id) or, where there is
            no preset, from :mod:`policyopt.env_defaults` (continuous control, long-horizon
            tasks); False: the config defaults alone.
        level: "compiled" (gymnax, vmapped seeds), "host" (Agent) or "auto" (compiled when
            the id is a gymnax id, else host).
        vectorization: host backend (see :class:`policyopt.Agent`).
        normalize_obs / normalize_reward: running observation normalisation and reward
            scaling (SB3's VecNormalize), on both levels; None (default): what the environment
            defaults choose (on for continuous control without a preset), else off.
        checkpoint_every: host updates per checkpoint segment (default: ≥ 50,000 steps).
        on_nan: "raise" (stop at the first non-finite update with
            :class:`~policyopt.faults.NonFiniteError`) or "skip" (reject such updates and go
            on); see :mod:`policyopt.guard`.
        step_timeout: host: seconds an environment may take per step before the run stops
            with :class:`~policyopt.faults.EnvTimeoutError` (async backend only; None: no limit).
    """

    algo: str
    env_id: str
    seeds: int = 1
    seed: int = 0
    steps: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    use_preset: bool = True
    level: str = "auto"
    vectorization: str = "auto"
    normalize_obs: bool | None = None
    normalize_reward: bool | None = None
    checkpoint_every: int | None = None
    on_nan: str = "raise"
    step_timeout: float | None = None

    def __post_init__(self) -> None:
        # A composition's spelling (``ratio/kl_reverse:constraint/natural_linesearch``) is
        # stored as what it means: the ``composed`` recipe and its fields.
        name, fields = parse_recipe(self.algo) if isinstance(self.algo, str) else (self.algo, {})
        if fields:
            object.__setattr__(self, "algo", name)
            object.__setattr__(self, "overrides", {**fields, **self.overrides})

    def config(self) -> BaseConfig:
        """The validated recipe config (``ConfigError`` names the field on bad input)."""
        check_int("run", "seeds", self.seeds, 1)
        check_on_nan("run", self.on_nan)
        if self.step_timeout is not None:
            check_range("run", "step_timeout", self.step_timeout, 0.0)
        check_seed("run", "seed", self.seed)
        if self.level not in LEVELS:
            raise ConfigError("run", "level", f"got {self.level!r}; allowed: {', '.join(LEVELS)}")
        base, budget = preset(self.algo, self.env_id) if self.use_preset else ({}, None)
        defaults = self.env_defaults()
        if defaults is not None:
            base = dict(defaults.config)
        kw = {**base, **self.overrides}
        if self.steps is not None or budget is not None:
            kw["total_timesteps"] = self.steps if self.steps is not None else budget
        return make_config(self.algo, env_id=self.env_id, **kw)

    def check(self) -> BaseConfig:
        """:meth:`config`, and the environment: an unknown id (with suggestions) or one whose
        extra is missing (``pip install 'policyopt[EXTRA]'``) fails here, before training."""
        cfg = self.config()
        if self.resolved_level() == "compiled":
            from policyopt.envs import make_jax_env

            make_jax_env(self.env_id, **cfg.env_kwargs)
        else:
            from policyopt.envs.host_env import resolve_backend

            resolve_backend(
                self.env_id, self.vectorization, cfg.num_envs, self.step_timeout, cfg.env_kwargs
            )
        return cfg

    def preset_env_note(self, cfg: BaseConfig | None = None) -> str | None:
        """:func:`~policyopt.presets.preset_env_note` for this run: its preset was tuned on the
        env made with arguments the run does not pass (None: no such preset, or it passes
        them)."""
        if not self.use_preset:
            return None
        cfg = self.config() if cfg is None else cfg
        return preset_env_note(self.algo, self.env_id, cfg.env_kwargs)

    def env_defaults(self) -> EnvDefaults | None:
        """The environment defaults applied to this run (None: a preset, ``use_preset=False``,
        or a short discrete task, whose config defaults are already tuned)."""
        if not self.use_preset or preset(self.algo, self.env_id)[1] is not None:
            return None
        from policyopt.env_defaults import env_defaults, env_traits

        if self.level not in LEVELS or self.algo not in CONFIGS:
            return None  # config() names the bad field
        level = self.resolved_level()
        kwargs = EnvKwargs.coerce("run", "env_kwargs", self.overrides.get("env_kwargs"))
        traits = env_traits(self.env_id, level, kwargs)
        return env_defaults(CONFIGS[self.algo], traits, level)

    def applied_env_defaults(self) -> EnvDefaults | None:
        """:meth:`env_defaults` less the fields the user set (``overrides``, an explicit
        normalisation): what the start-up line prints and ``config.json`` records."""
        d = self.env_defaults()
        if d is None:
            return None
        given = {"normalize_obs": self.normalize_obs, "normalize_reward": self.normalize_reward}
        return d.less(set(self.overrides), {k for k, v in given.items() if v is not None})

    def normalization(self) -> tuple[bool, bool]:
        """``(normalize_obs, normalize_reward)``: the explicit choice, else the preset's, else
        the environment defaults', else off."""
        d = self.env_defaults()
        chosen: dict[str, Any] = d.run if d is not None else {}
        if self.use_preset:
            chosen = {**chosen, **preset_run(self.algo, self.env_id)}
        obs, rew = self.normalize_obs, self.normalize_reward
        return (
            chosen.get("normalize_obs", False) if obs is None else obs,
            chosen.get("normalize_reward", False) if rew is None else rew,
        )

    def resolved_level(self) -> str:
        if self.level != "auto":
            return self.level
        from policyopt.env_ids import is_gymnax_id  # no gymnax (JAX) import: a cached look-up

        return "compiled" if is_gymnax_id(self.env_id) else "host"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def agent_fields(cfg: BaseConfig) -> dict[str, Any]:
    """``cfg``'s fields as :class:`policyopt.Agent` keyword arguments (env id apart)."""
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name != "env_id"}


def train_run(
    spec: RunSpec,
    run_dir: str | Path,
    progress: bool = False,
    resume: bool = False,
    overwrite: bool = False,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train ``spec`` into ``run_dir``; returns ``summary.json``'s contents.

    The result files (``config.json``, ``metrics.csv``, ``summary.json``) are written first,
    then ``on_result(summary)`` is called (the CLI prints its result line there), then the
    slower artifacts: Agent checkpoints of a compiled run, TensorBoard events and figures.
    The run directory stays locked until all are written; an interrupt during the artifacts
    loses none of the results (``policyopt plot`` redraws figures from ``metrics.csv``).

    Everything is validated (config, environment id, level) before any training starts and
    before the directory is touched. ``run_dir`` is then locked for the whole call
    (:class:`~policyopt.experiments.rundir.RunLockedError` if another process writes it). A
    directory that already holds a run is refused
    (:class:`~policyopt.experiments.rundir.RunExistsError`) unless ``resume`` (continue it;
    :class:`ResumeMismatchError` lists what differs if its spec or checkpoints are not
    ``spec``'s) or ``overwrite`` (clear it first).
    """
    cfg = spec.check()
    note = spec.preset_env_note(cfg)
    if note is not None:  # sweeps and Python runs see it too; the CLI prints it in colour
        warnings.warn(note, PresetEnvWarning, stacklevel=2)
    level = spec.resolved_level()
    run_dir = Path(run_dir)
    obs_norm, reward_norm = spec.normalization()
    info = spec.to_json() | {
        "level": level,
        "normalization": {"obs": obs_norm, "reward": reward_norm},  # as resolved
    }
    defaults = spec.applied_env_defaults()
    if defaults is not None:  # what was chosen for the user, kept in config.json
        info["env_defaults"] = defaults.to_json()
    if resume and overwrite:
        raise RunDirError(f"{run_dir}: resume and overwrite exclude each other; pick one")
    with lock_run_dir(run_dir):
        prepare_run_dir(run_dir, resume, overwrite)
        if resume:
            check_resume(spec, cfg, level, run_dir)
        write_spec(run_dir, spec)  # first, so a run interrupted before any save can resume
        if level == "compiled":
            return _train_compiled(cfg, spec, run_dir, info, on_result)
        return _train_host(cfg, spec, run_dir, info, progress, resume, on_result)


def _expected_identity(spec: RunSpec, cfg: BaseConfig, level: str, k: int) -> dict[str, Any]:
    """What seed ``k``'s checkpoint must repeat (compiled runs export agents with the base
    seed and default settings, so only recipe, env and config are theirs to match)."""
    if level == "compiled":
        full = identity(spec.algo, spec.env_id, spec.seed, cfg, {})
        return {k: full[k] for k in ("algo", "env_id", "config")}
    from policyopt.envs.host_env import resolve_backend

    settings = {
        "vectorization": resolve_backend(
            spec.env_id, spec.vectorization, cfg.num_envs, spec.step_timeout
        ),
        "normalize_obs": spec.normalization()[0],
        "normalize_reward": spec.normalization()[1],
        "checkpoint_every": spec.checkpoint_every or default_checkpoint_every(cfg.rollout_size),
    }
    return identity(spec.algo, spec.env_id, spec.seed + k, cfg, settings)


def check_resume(spec: RunSpec, cfg: BaseConfig, level: str, run_dir: str | Path) -> None:
    """Refuse to resume ``run_dir`` with ``spec`` unless its stored spec and every checkpoint
    agree with it field by field (:class:`ResumeMismatchError` lists all differences;
    ``CheckpointError`` names a corrupted checkpoint and its bad field)."""
    run_dir = Path(run_dir)
    problems = []
    if (run_dir / "spec.json").exists():
        stored = read_json(run_dir / "spec.json")
        if not isinstance(stored, dict):
            raise RunDirError(f"{run_dir / 'spec.json'}: expected a JSON object")
        # Run-time choices may change on resume (a NaN stop advises --on-nan skip); a
        # spec.json written before a field existed holds that field's default.
        defaults = RunSpec(spec.algo, spec.env_id).to_json()
        stored = {k: v for k, v in {**defaults, **stored}.items() if k not in RUNTIME_FIELDS}
        current = {k: v for k, v in spec.to_json().items() if k not in RUNTIME_FIELDS}
        diffs = field_differences(stored, current, "spec.json", "this spec")
        problems += [f"spec.json: {'; '.join(diffs)}"] if diffs else []
    ckpts = sorted((run_dir / "checkpoints").glob("seed_*.ckpt"))
    stale = [c.name for c in ckpts if not 0 <= _seed_index(c) < spec.seeds]
    if stale:
        problems.append(f"{', '.join(stale)} not part of a {spec.seeds}-seed run")
    for c in ckpts:
        if c.name in stale:
            continue
        k = _seed_index(c)
        expected = _expected_identity(spec, cfg, level, k)
        m = check_agent_meta(c, read_checkpoint(c)[0])
        found = identity(m.algo, m.env_id, m.seed, m.config, m.settings)
        diffs = field_differences({n: found[n] for n in expected}, expected)
        problems += [f"checkpoints/{c.name}: {'; '.join(diffs)}"] if diffs else []
    if problems:
        raise ResumeMismatchError(
            f"{run_dir}: cannot resume, the spec differs from what the run holds: "
            + " | ".join(problems)
        )


def _seed_index(ckpt: Path) -> int:
    """``seed_3.ckpt`` → 3 (a name that is not a seed index sorts as stale: -1)."""
    tail = ckpt.stem[len("seed_") :]
    return int(tail) if tail.isdigit() else -1


def _train_compiled(
    cfg: BaseConfig,
    spec: RunSpec,
    run_dir: Path,
    info: dict[str, Any],
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    import jax

    from policyopt.train import run_train

    normalize_obs, normalize_reward = spec.normalization()
    # While XLA trains (it releases the GIL), a second thread imports what the outputs need
    # and builds the Agent the checkpoints are exported through: ~1 s of a CLI run, hidden.
    with ThreadPoolExecutor(1, thread_name_prefix="policyopt-outputs") as pool:
        template = pool.submit(_prepare_outputs, cfg, spec)
        res = run_train(
            cfg,
            seed=spec.seed,
            num_seeds=spec.seeds,
            on_nan=spec.on_nan,
            check_finite=False,
            normalize_obs=normalize_obs,
            normalize_reward=normalize_reward,
        )
        agent = template.result()
    metrics = {k: np.asarray(v) for k, v in jax.device_get(res.output.metrics).items()}
    timing = {
        "compile_seconds": res.compile_seconds,
        "run_seconds": res.run_seconds,
        "steps_per_second": res.steps_per_second,
    }
    eval_returns = np.asarray(res.output.eval_returns)
    # A seed that hit a non-finite update froze there: its learner, evaluation and exported
    # checkpoint are those of its last good update; then the run fails, naming it.
    save_run(run_dir, cfg, metrics, eval_returns, timing, info, tensorboard=False)
    try:
        raise_if_nonfinite(metrics, spec.on_nan, spec.env_id, spec.seed)
        _check_eval(eval_returns, spec)
    except TrainingError as err:
        _export_compiled_agents(agent, spec, run_dir, res.output, metrics)
        write_artifacts(run_dir, spec, metrics)
        record_failure(run_dir, err)
        raise
    summary = json.loads((run_dir / "summary.json").read_text())
    if on_result is not None:
        on_result(summary)
    _export_compiled_agents(agent, spec, run_dir, res.output, metrics)
    write_artifacts(run_dir, spec, metrics)
    return summary


def write_artifacts(run_dir: Path, spec: RunSpec, metrics: dict[str, Any]) -> None:
    """TensorBoard events and figures of a run whose results are already on disk."""
    write_tensorboard(run_dir / "tb", metrics)
    plot_run(run_dir, display_name(spec.algo, spec.overrides), spec.env_id, metrics)


def _check_eval(eval_returns: np.ndarray, spec: RunSpec) -> None:
    """Evaluation returns ``[seeds, episodes]`` must be finite (a NaN reward at evaluation)."""
    bad = np.flatnonzero(~np.isfinite(eval_returns).all(axis=-1))
    if bad.size:
        raise NonFiniteError(
            "evaluation return", None, spec.env_id, spec.seed + int(bad[0]),
            seeds_failed=int(bad.size),
        )  # fmt: skip


def record_failure(run_dir: Path, err: BaseException) -> None:
    """Mark ``summary.json`` failed (``status``, ``error``), keeping whatever it already held."""
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary |= {"status": "failed", "error": f"{type(err).__name__}: {err}"}
    text = json.dumps(json_safe(summary), indent=2, allow_nan=False)
    atomic_write_text(path, text + "\n")


def _prepare_outputs(cfg: BaseConfig, spec: RunSpec) -> Agent | None:
    """Import the writers of a run's outputs and build the Agent its checkpoints go through
    (None for ids Gymnasium does not know, or with env_kwargs, which are gymnax EnvParams here
    and not gym.make arguments: the compiled and host envs then differ)."""
    import gymnasium as gym
    import matplotlib.pyplot

    matplotlib.pyplot.figure  # noqa: B018 - loads pyplot (gymnax may have deferred it)

    from policyopt.agent import Agent
    from policyopt.imports import import_tensorboardx

    import_tensorboardx()  # likewise for write_tensorboard (without torch)

    if spec.env_id not in gym.registry or cfg.env_kwargs:  # gymnax's EnvParams ≠ gym's kwargs
        return None
    normalize_obs, normalize_reward = spec.normalization()
    return Agent(
        spec.algo,
        spec.env_id,
        seed=spec.seed,
        vectorization="sync",
        normalize_obs=normalize_obs,
        normalize_reward=normalize_reward,
        **agent_fields(cfg),
    )


def _export_compiled_agents(
    agent: Agent | None, spec: RunSpec, run_dir: Path, output: Any, metrics: dict[str, Any]
) -> None:
    """Write each seed's final learner (and normalisation statistics) as an
    :class:`policyopt.Agent` checkpoint, through ``agent`` (:func:`_prepare_outputs`).

    Only for ids Gymnasium also knows (``agent`` is None otherwise), so
    ``policyopt eval RUN --video`` and ``Agent.load`` work on compiled runs.
    """
    import jax

    from policyopt.host import RunningMeanStd

    if agent is None:
        return
    names = sorted(metrics)
    done = good_updates(metrics, spec.on_nan)  # a failed seed's learner is its last good one
    norm = jax.device_get(output.norm)
    # NumPy copies, indexed per seed on the host: indexing the device arrays dispatches one
    # small XLA program per leaf shape (a compile or cache lookup each, ~10 ms apiece).
    learner = jax.device_get(output.learner)

    def host_stats(stats: Any, k: int) -> RunningMeanStd | None:
        if stats is None:
            return None
        mean, var = (np.asarray(a[k], np.float64) for a in (stats.mean, stats.var))
        return RunningMeanStd(mean, var, float(stats.count[k]))

    for k in range(spec.seeds):
        agent.state.obs_rms = host_stats(norm.obs, k)
        agent.state.ret_rms = host_stats(norm.ret, k)
        agent.state.learner = jax.tree.map(lambda x, k=k: x[k], learner)
        agent.state.update = int(done[k])
        agent.state.history = [
            {n: float(metrics[n][k, u]) for n in names} for u in range(int(done[k]))
        ]
        agent.save(run_dir / "checkpoints" / f"seed_{k}.ckpt")


def _train_host(
    cfg: BaseConfig,
    spec: RunSpec,
    run_dir: Path,
    info: dict[str, Any],
    progress: bool,
    resume: bool,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    from policyopt.agent import Agent, learn_together

    fields = agent_fields(cfg)
    normalize_obs, normalize_reward = spec.normalization()
    agents = [
        Agent(
            spec.algo,
            spec.env_id,
            seed=spec.seed + k,
            vectorization=spec.vectorization,
            normalize_obs=normalize_obs,
            normalize_reward=normalize_reward,
            checkpoint_path=run_dir / "checkpoints" / f"seed_{k}.ckpt",
            checkpoint_every=spec.checkpoint_every,
            on_nan=spec.on_nan,
            step_timeout=spec.step_timeout,
            **fields,
        )
        for k in range(spec.seeds)
    ]
    histories, evals = [], []
    try:  # a run-time failure keeps every seed's last segment checkpoint and is recorded
        # All seeds in lockstep: one seed's update computes while the next one collects.
        learn_together(agents, cfg.total_timesteps, progress_bar=progress, resume=resume)
        for k, agent in enumerate(agents):
            ev = agent.evaluate_episodes(cfg.eval_episodes, seed=10_000 + spec.seed + k)
            _check_eval(ev[None], dataclasses.replace(spec, seed=spec.seed + k))
            histories.append(agent.history)
            evals.append(ev)
    except TrainingError as err:
        record_failure(run_dir, err)
        raise
    finally:
        for agent in agents:
            agent.close()
    info["vectorization"] = agents[0].settings["vectorization"]
    # Each agent's clock ran through the whole lockstep run (resumed parts included).
    seconds = max(agent.train_seconds for agent in agents)
    metrics = metrics_from_histories(histories)
    steps = cfg.num_updates * cfg.rollout_size * spec.seeds
    timing = {"run_seconds": seconds, "steps_per_second": steps / max(seconds, 1e-9)}
    save_run(run_dir, cfg, metrics, np.stack(evals), timing, info, tensorboard=False)
    summary = json.loads((run_dir / "summary.json").read_text())
    if on_result is not None:
        on_result(summary)
    write_artifacts(run_dir, spec, metrics)
    return summary


def plot_run(run_dir: Path, algo: str, env: str, metrics: dict[str, Any]) -> None:
    """A run's own figures: return, KL, clip fraction; natural-gradient diagnostics."""
    from policyopt.plots import plot_curves, plot_natural_diagnostics

    x = metrics["time/total_timesteps"][0]
    plot_curves(
        {algo: (x, metrics["rollout/ep_rew_mean"])},
        run_dir / "return",
        "episodic return (reward)",
        env,
    )
    for key in ("train/kl_forward", "train/clip_fraction"):
        if key in metrics:
            plot_curves({algo: (x, metrics[key])}, run_dir / key.split("/")[1], key, env)
    if "train/cg_iterations" in metrics:
        plot_natural_diagnostics(x, metrics, run_dir / "natural_gradient", f"{algo} on {env}")


#: RunSpec fields that are run-time choices, not part of what a run is: they may differ on
#: resume (``resume_run(..., on_nan="skip")`` after a NaN stop).
RUNTIME_FIELDS = ("on_nan", "step_timeout")


def resume_run(
    run_dir: str | Path,
    progress: bool = False,
    on_nan: str | None = None,
    step_timeout: float | None = None,
) -> dict[str, Any]:
    """Continue the run in ``run_dir`` from its checkpoints (host runs) or retrain it.

    Compiled runs are one XLA program of a few seconds with no intermediate state to save;
    resuming one trains it again from its stored spec (same seeds, same numbers).
    ``on_nan`` / ``step_timeout``, when given, replace the stored run-time choices.
    """
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    spec_path = run_dir / "spec.json"
    if spec_path.exists():
        source, raw = spec_path, read_json(spec_path)
    elif cfg_path.exists():
        source, cfg_json = cfg_path, read_json(cfg_path)
        if not isinstance(cfg_json, dict) or not isinstance(cfg_json.get("run"), dict):
            raise RunDirError(f'{cfg_path}: no "run" section (not written by policyopt train)')
        raw = cfg_json["run"]
    else:
        raise ConfigError("cli", "--resume", f"{run_dir} is not a policyopt run directory")
    spec = spec_from_json(raw, source)
    runtime: dict[str, Any] = {"on_nan": on_nan, "step_timeout": step_timeout}
    spec = dataclasses.replace(spec, **{k: v for k, v in runtime.items() if v is not None})
    return train_run(spec, run_dir, progress=progress, resume=True)


#: the JSON types of RunSpec's fields, to name a corrupted spec file's bad field
_SPEC_TYPES: dict[str, tuple[type, ...]] = {
    "algo": (str,),
    "env_id": (str,),
    "seeds": (int,),
    "seed": (int,),
    "steps": (int, type(None)),
    "overrides": (dict,),
    "use_preset": (bool,),
    "level": (str,),
    "vectorization": (str,),
    "normalize_obs": (bool, type(None)),
    "normalize_reward": (bool, type(None)),
    "checkpoint_every": (int, type(None)),
    "on_nan": (str,),
    "step_timeout": (int, float, type(None)),
}


def spec_from_json(raw: Any, source: str | Path) -> RunSpec:
    """A :class:`RunSpec` from ``spec.json`` (or ``config.json``'s ``"run"``); a corrupted
    file is refused with :class:`~policyopt.experiments.rundir.RunDirError` naming the file
    and the field, before anything trains."""
    if not isinstance(raw, dict):
        raise RunDirError(f"{source}: expected a JSON object, got {type(raw).__name__}")
    for name, kinds in _SPEC_TYPES.items():
        if name not in raw:
            if name in ("algo", "env_id"):
                raise RunDirError(f"{source}: {name}: missing")
            continue
        v = raw[name]
        if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
            want = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise RunDirError(f"{source}: {name}: expected {want}, got {v!r}")
    spec = RunSpec(**{f.name: raw[f.name] for f in dataclasses.fields(RunSpec) if f.name in raw})
    try:
        spec.config()
    except ConfigError as err:
        raise RunDirError(f"{source}: {err}") from err
    return spec


def write_spec(run_dir: str | Path, spec: RunSpec) -> None:
    """``spec.json``: what ``resume_run`` needs to continue the run."""
    atomic_write_text(Path(run_dir) / "spec.json", json.dumps(spec.to_json(), indent=2) + "\n")
