"""The ``policyopt`` command line."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from policyopt.composition import display_name, file_safe, parse_recipe
from policyopt.errors import ConfigError, suggest
from policyopt.faults import TrainingError

app = typer.Typer(
    help="policyopt: PG, NPG, TRPO, PPO, PPO-KL, MDPO, Adaptive TRPO as one optimisation problem.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


def _print_version(value: bool) -> None:
    if value:
        from policyopt import __version__
        from policyopt.checkpoint_format import CHECKPOINT_VERSION

        console.print(f"policyopt {__version__} (checkpoint format {CHECKPOINT_VERSION})")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """policyopt command line (run a subcommand with --help for its options and examples)."""


def parse_overrides(items: list[str], valid_prefixes: list[str]) -> dict[str, dict[str, Any]]:
    """``["npg.beta=0.1", "trpo.delta=0.02"]`` → ``{"npg": {"beta": 0.1}, "trpo": {...}}``."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in parse_sets(items).items():
        prefix, dot, field = key.partition(".")
        if not dot or not field:
            raise ConfigError("cli", "--set", f"expected ALGO.FIELD=VALUE, got {key!r}")
        if prefix not in valid_prefixes:
            raise ConfigError(
                "cli",
                "--set",
                f"unknown algorithm {prefix!r} in {key!r}; valid: {', '.join(valid_prefixes)}"
                f"{suggest(prefix, valid_prefixes)}",
            )
        out.setdefault(prefix, {})[field] = value
    return out


_BOOL_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def parse_value(raw: str) -> Any:
    """A ``--set`` value: a Python literal (``1e-3``, ``(64, 64)``, ``True``), a yes/no/on/off
    word as a bool, else the string itself. The config then checks it against the field's
    type, so a wrong kind of value is refused there with the field named."""
    word = raw.strip().lower()
    if word in _BOOL_WORDS:
        return _BOOL_WORDS[word]
    try:
        return ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw


def _fail(err: Exception) -> NoReturn:
    """Print ``err`` as one line (no wrapping, no markup from the message) and exit 2."""
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(str(err))}", soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def tabular(
    mdp: Annotated[
        str, typer.Option(help="frozenlake, taxi, cliffwalking, garnet, chain, gridworld")
    ] = "frozenlake",
    algos: Annotated[
        str,
        typer.Option(
            help="comma-separated names (pg,npg,trpo,ppo,ppo_kl,mdpo,adaptive_trpo) or "
            "compositions SURROGATE/PROXIMITY[:RULE]/SOLVER (--set composed.FIELD=… for them)"
        ),
    ] = "pg,npg,trpo,ppo,ppo_kl,mdpo,adaptive_trpo",
    iters: Annotated[int, typer.Option(help="iterations per algorithm")] = 200,
    out: Annotated[
        Path, typer.Option(help="output directory (CSV per algorithm, PNG + SVG plot)")
    ] = Path("out/tabular"),
    gamma: Annotated[
        float | None, typer.Option(help="discount factor (default: the MDP's)")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="hyperparameter, e.g. npg.beta=0.1 (repeatable)"),
    ] = None,
    tol: Annotated[float, typer.Option(help="report iterations until f − f* < tol")] = 1e-3,
) -> None:
    """Exact comparison of the update rules on a known MDP (cost convention: f − f* ≥ 0).

    Examples:

      policyopt tabular --mdp frozenlake --iters 200 --out out/frozenlake

      policyopt tabular --mdp chain --algos pg,npg --iters 500 --set pg.learning_rate=1.0

      policyopt tabular --algos trpo,ratio/kl_reverse:constraint/natural_linesearch
    """
    from policyopt import tabular as T
    from policyopt.compile_cache import enable_compilation_cache
    from policyopt.plots import plot_tabular

    enable_compilation_cache()

    try:
        names = [a.strip() for a in algos.split(",") if a.strip()]
        overrides = parse_overrides(set_ or [], list(T.ALGORITHMS))
        algorithms = []
        for n in names:
            base, fields = parse_recipe(n)
            algorithms.append(T.make_config(base, **fields, **overrides.get(base, {})))
        if iters < 1:
            raise ConfigError("cli", "--iters", f"must be an integer >= 1, got {iters}")
        mdp_obj = T.make_mdp(mdp, **({} if gamma is None else {"gamma": gamma}))
    except (ConfigError, ValueError) as err:
        _fail(err)
    opt = T.optimal(mdp_obj)
    m = mdp_obj
    title = f"{m.name}: S={m.n_states}, A={m.n_actions}, γ={m.gamma}, f*={float(opt.f):.6g} (cost)"
    table = Table(title=title)
    for col in ("algorithm", "f(π_T) − f*", f"iters to < {tol:g}", "rejected steps"):
        table.add_column(col, justify="right")
    histories = []
    for alg in algorithms:
        h = T.run(mdp_obj, alg, iters, optimum=opt)
        histories.append(h)
        T.write_csv(h, out / f"{file_safe(h.algorithm)}.csv")
        hit = h.iterations_to(tol)
        table.add_row(
            h.algorithm,
            f"{h.gap[-1]:.3e}",
            "—" if hit is None else str(hit),
            str(int((~h.accepted).sum())),
        )
    paths = plot_tabular(histories, out / "suboptimality", title=f"{mdp_obj.name} (exact, cost)")
    console.print(table)
    console.print(f"wrote {len(histories)} CSV files and {', '.join(str(p) for p in paths)}")


def _env_kwargs(items: list[str] | None, sets: dict[str, Any]) -> dict[str, Any]:
    """``--env-kwarg`` items as the ``env_kwargs`` override (merged over ``--set env_kwargs``)."""
    if not items:
        return {}
    from_set = sets.get("env_kwargs") or {}
    if not isinstance(from_set, dict):
        raise ConfigError("cli", "--set env_kwargs", f"expected a dict, got {from_set!r}")
    return {"env_kwargs": {**from_set, **parse_sets(items)}}


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``["learning_rate=1e-3", "hidden_sizes=(32,32)"]`` → typed values (Python literals)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError("cli", "--set", f"expected KEY=VALUE, got {item!r}")
        out[key] = parse_value(raw)
    return out


@app.command()
def train(
    algo: Annotated[
        str | None,
        typer.Argument(
            help="pg, npg, trpo, ppo, ppo_kl, mdpo, adaptive_trpo, or a composition "
            "SURROGATE/PROXIMITY[:RULE]/SOLVER, e.g. "
            "ratio/kl_reverse:constraint/natural_linesearch"
        ),
    ] = None,
    env: Annotated[
        str | None,
        typer.Argument(help="any Gymnasium/EnvPool id (LunarLander-v3, …) or gymnax id"),
    ] = None,
    seeds: Annotated[int, typer.Option(help="number of seeds")] = 1,
    steps: Annotated[int | None, typer.Option(help="total environment steps per seed")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="config field, e.g. learning_rate=1e-3")
    ] = None,
    env_kwarg: Annotated[
        list[str] | None,
        typer.Option(
            "--env-kwarg",
            help="keyword argument of the environment (gym.make's; gymnax: EnvParams), "
            "e.g. include_cfrc_ext_in_observation=false for Ant-v5 (repeatable)",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="run name (default ALGO-ENV)")] = None,
    runs_dir: Annotated[Path, typer.Option(help="parent directory of run directories")] = Path(
        "runs"
    ),
    seed: Annotated[int, typer.Option(help="base random seed")] = 0,
    use_preset: Annotated[
        bool, typer.Option("--preset/--no-preset", help="start from policyopt.presets")
    ] = True,
    level: Annotated[
        str,
        typer.Option(help="auto | compiled (gymnax ids, seeds vmapped) | host (Agent)"),
    ] = "auto",
    vectorization: Annotated[
        str, typer.Option(help="host backend: auto | envpool | sync | async | gymnax")
    ] = "auto",
    normalize: Annotated[
        bool | None,
        typer.Option(
            "--normalize/--no-normalize",
            help="running observation normalisation and reward scaling, both levels "
            "(default: on for continuous control without a preset, see policyopt.env_defaults)",
        ),
    ] = None,
    resume: Annotated[
        Path | None, typer.Option(help="continue the run in this directory from its checkpoints")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option(help="replace an existing run of this name (its directory is cleared)")
    ] = False,
    progress: Annotated[bool, typer.Option(help="show a progress bar (host runs)")] = True,
    on_nan: Annotated[
        str | None,
        typer.Option(
            help="raise (default): stop at the first update with a non-finite loss, gradient, "
            "parameter or advantage (exit code 3); skip: reject such updates and go on. "
            "With --resume: overrides the run's choice"
        ),
    ] = None,
    step_timeout: Annotated[
        float | None,
        typer.Option(
            help="host: seconds an environment may take per step before the run stops "
            "(runs Gymnasium envs in subprocesses: --vectorization async)"
        ),
    ] = None,
) -> None:
    """Train a recipe on an environment, several seeds; writes runs/NAME/.

    JAX-native (gymnax) ids train all seeds vmapped in one compiled program; any other
    Gymnasium/EnvPool id trains on the host (policyopt.Agent), all seeds in lockstep in one
    process (bit-identical to each seed trained alone), with
    checkpoints in runs/NAME/checkpoints/ (Ctrl-C saves one; --resume RUN continues).
    An existing run name is refused unless --resume or --overwrite, and a run directory
    another process is writing is refused with that process's pid.
    Settings: the config defaults, then the tuned preset for (ALGO, ENV) if there is one
    (rl-zoo3 where it has an entry) or else the defaults for the environment's kind
    (continuous control, long-horizon tasks; printed at start, kept in config.json), then
    --steps and --set.
    A run that fails while training (a NaN or inf, an environment that raises or exceeds
    --step-timeout) exits with code 3, naming the cause; its last good checkpoint is kept
    and summary.json says "status": "failed".

    Examples:

      policyopt train ppo CartPole-v1 --seeds 8 --steps 100000

      policyopt train trpo LunarLander-v3 --seeds 3

      policyopt train clipped_ratio/kl_forward:constraint/natural CartPole-v1

      policyopt train ppo Pendulum-v1 --set clip_eps=0.1 --set num_envs=16

      policyopt train --resume runs/trpo-LunarLander-v3
    """
    from policyopt.experiments import RunSpec, resume_run, train_run
    from policyopt.presets import PresetEnvWarning

    if resume is not None:
        if overwrite:
            _fail(ConfigError("cli", "--overwrite", "cannot be combined with --resume"))
        try:
            summary = resume_run(
                resume, progress=progress, on_nan=on_nan, step_timeout=step_timeout
            )
        except TrainingError as err:
            _fail_run(err, resume)
        except (ConfigError, ValueError) as err:
            _fail(err)
        _report(resume, summary)
        return
    if algo is None or env is None:
        _fail(ConfigError("cli", "ALGO ENV", "both are required unless --resume RUN is given"))
    run_dir = runs_dir / (name or file_safe(f"{algo}-{env}"))
    reported = {"done": False}
    try:
        base, fields = parse_recipe(algo)
        sets = parse_sets(set_ or [])
        spec = RunSpec(
            algo=base,
            env_id=env,
            seeds=seeds,
            seed=seed,
            steps=steps,
            overrides={**fields, **sets, **_env_kwargs(env_kwarg, sets)},
            use_preset=use_preset,
            level=level,
            vectorization=vectorization,
            normalize_obs=normalize,
            normalize_reward=normalize,
            on_nan=on_nan or "raise",
            step_timeout=step_timeout,
        )
        cfg = spec.config()  # every bad argument fails here or in train_run's checks
        defaults = spec.applied_env_defaults()
        if defaults is not None:
            console.print(defaults.describe())
        env_note = spec.preset_env_note(cfg)
        if env_note is not None:
            from rich.markup import escape

            console.print(f"[yellow]warning:[/] {escape(env_note)}", soft_wrap=True)
        status = console.status(
            f"compiling and training {algo} on {env} "
            f"({seeds} seed(s) vmapped, {cfg.num_updates} updates)…"
        )

        def result_first(summary: dict[str, Any]) -> None:
            """Print the result as soon as it is on disk; then show what is still written."""
            _report(run_dir, summary)
            reported["done"] = True
            status.update("writing checkpoints, TensorBoard events and figures…")
            status.start()

        compiled = spec.resolved_level() == "compiled"
        if compiled:
            status.start()
        try:
            with warnings.catch_warnings():  # printed above
                warnings.simplefilter("ignore", PresetEnvWarning)
                train_run(
                    spec,
                    run_dir,
                    progress=progress and not compiled,
                    overwrite=overwrite,
                    on_result=result_first,
                )
        finally:
            status.stop()
        return
    except TrainingError as err:
        _fail_run(err, run_dir)
    except (ConfigError, ValueError, TypeError) as err:
        _fail(err)
    except KeyboardInterrupt:
        if reported["done"]:
            console.print(
                f"[yellow]interrupted while writing figures:[/] the results are in {run_dir}; "
                f"policyopt plot {run_dir} redraws the figures"
            )
        else:
            console.print(
                f"[yellow]interrupted:[/] checkpoint saved; continue with "
                f"policyopt train --resume {run_dir}"
            )
        raise typer.Exit(code=130) from None


def _fail_run(err: Exception, run_dir: Path) -> None:
    """A run that failed while training: the cause in one line, where its checkpoints are,
    exit code 3 (2 is for bad arguments, before anything trained)."""
    from rich.markup import escape

    console.print(f"[bold red]run failed:[/] {escape(str(err))}", soft_wrap=True)
    console.print(
        f"last good checkpoints kept in {run_dir / 'checkpoints'}; "
        f'{run_dir / "summary.json"} records "status": "failed"',
        soft_wrap=True,
    )
    raise typer.Exit(code=3)


def _report(run_dir: Path, summary: dict[str, Any]) -> None:
    from policyopt.experiments.rundir import read_json

    cfg = read_json(run_dir / "config.json")
    n = len(summary["eval_mean_return_per_seed"])
    timing = ", ".join(
        f"{k.replace('_seconds', '')} {summary[k]:.1f}s"
        for k in ("compile_seconds", "run_seconds")
        if k in summary
    )
    console.print(
        f"{cfg['algo']} on {cfg['env_id']}: eval return {summary['eval_mean_return']:.1f} "
        f"± {summary['eval_std_return']:.1f} ({n} seed(s)); {timing}, "
        f"{summary['steps_per_second']:,.0f} steps/s → {run_dir}"
    )


@app.command("eval")
def eval_(
    run: Annotated[Path, typer.Argument(help="a run directory written by `policyopt train`")],
    episodes: Annotated[int, typer.Option(help="deterministic episodes per seed")] = 10,
    video: Annotated[
        Path | None, typer.Option(help="also record seed 0 to this .gif or .mp4")
    ] = None,
    seed: Annotated[int, typer.Option(help="evaluation seed")] = 12345,
) -> None:
    """Evaluate every seed of a run from its checkpoints (reward, undiscounted).

    Examples:

      policyopt eval runs/ppo-LunarLander-v3 --episodes 20

      policyopt eval runs/trpo-CartPole-v1 --video out/trpo.gif
    """
    import numpy as np

    from policyopt.agent import Agent, check_video_path

    try:
        ckpts = _run_checkpoints(run)
    except ValueError as err:
        _fail(err)
    if not ckpts:
        _fail(ConfigError("cli", "RUN", f"{run} has no checkpoints/seed_*.ckpt"))
    if episodes < 1:
        _fail(ConfigError("cli", "--episodes", f"must be an integer >= 1, got {episodes}"))
    if video is not None:
        try:
            check_video_path(video)  # a missing extra fails now, not after the evaluation
        except ConfigError as err:
            _fail(err)
    table = Table(title=f"{run} ({episodes} deterministic episodes per seed, reward)")
    for col in ("seed", "mean", "std", "min", "max"):
        table.add_column(col, justify="right")
    try:
        agents = [Agent.load(c, checkpoint_path=None) for c in ckpts]
        _check_agents_belong(run, ckpts, agents)
    except ValueError as err:  # CheckpointError, RunDirError
        _fail(err)
    all_returns = []
    for c, agent in zip(ckpts, agents, strict=True):
        r = agent.evaluate_episodes(episodes, seed=seed)
        all_returns.append(r)
        table.add_row(c.stem[5:], *(f"{f(r):.1f}" for f in (np.mean, np.std, np.min, np.max)))
    console.print(table)
    console.print(f"all seeds: {np.mean(all_returns):.1f} ± {np.std(all_returns):.1f}")
    if video is not None:
        try:
            path = agents[0].record(video)
        except ConfigError as err:
            _fail(err)
        console.print(f"wrote {path}")


def _run_checkpoints(run: Path) -> list[Path]:
    """``run``'s ``checkpoints/seed_<k>.ckpt`` in seed order; a checkpoint beyond the run's
    seed count (a stale file of an earlier run under this name) is an error, never averaged."""
    from policyopt.experiments.rundir import RunDirError, read_json

    ckpts = [p for p in (run / "checkpoints").glob("seed_*.ckpt") if p.stem[5:].isdigit()]
    ckpts.sort(key=lambda p: int(p.stem[5:]))
    seeds = None
    if (run / "spec.json").exists():
        raw = read_json(run / "spec.json")
        seeds = raw.get("seeds") if isinstance(raw, dict) else None
    elif (run / "config.json").exists():
        raw = read_json(run / "config.json")
        info = raw.get("run") if isinstance(raw, dict) else None
        seeds = info.get("seeds") if isinstance(info, dict) else None
    if isinstance(seeds, int):
        stale = [p.name for p in ckpts if int(p.stem[5:]) >= seeds]
        if stale:
            raise RunDirError(
                f"{run}: {', '.join(stale)} not part of this {seeds}-seed run (left by an "
                "earlier run under this name?); remove them or retrain with --overwrite"
            )
    return ckpts


def _check_agents_belong(run: Path, ckpts: list[Path], agents: list[Any]) -> None:
    """Every checkpoint's recipe, env and config must be the run's ``config.json``."""
    from policyopt.agent_meta import field_differences
    from policyopt.experiments.rundir import RunDirError, read_json

    if not (run / "config.json").exists():
        return  # a run still training its first seed: nothing to compare with yet
    raw = read_json(run / "config.json")
    if not isinstance(raw, dict):
        raise RunDirError(f"{run / 'config.json'}: expected a JSON object")
    expected = {k: v for k, v in raw.items() if k != "run"}
    for c, agent in zip(ckpts, agents, strict=True):
        found = {"algo": agent.algo, **agent.identity()["config"]}
        diffs = field_differences(found, expected, "checkpoint", "config.json")
        if diffs:
            raise RunDirError(f"{c}: not a checkpoint of this run: {'; '.join(diffs)}")


@app.command()
def reproduce(
    what: Annotated[str, typer.Argument(help="what to reproduce: paper")] = "paper",
    budget: Annotated[
        str, typer.Option(help="quick (< 10 min on 2 cores) or full (1e6 steps, paper scale)")
    ] = "quick",
    seeds: Annotated[int, typer.Option(help="seeds per curve")] = 5,
    with_sb3: Annotated[
        bool, typer.Option("--with-sb3", help="add SB3 PPO and sb3-contrib TRPO curves")
    ] = False,
    out: Annotated[Path, typer.Option(help="output directory")] = Path("runs/paper"),
    progress: Annotated[bool, typer.Option(help="show progress bars")] = True,
    redraw: Annotated[
        bool,
        typer.Option(
            "--redraw", help="no training: redraw figures and report from the runs in OUT"
        ),
    ] = False,
) -> None:
    """Reproduce the seed paper's figures: PPO vs TRPO on LunarLander-v3 (return, KL, clip
    fraction) and NPG on CartPole-v1, with seeds and 95% bootstrap bands, plus report.md.

    Examples:

      policyopt reproduce paper --budget quick

      policyopt reproduce paper --budget full --with-sb3 --out runs/paper-full

      policyopt reproduce paper --redraw --out docs/paper   (from the committed run CSVs)
    """
    from policyopt.experiments.paper import redraw_paper, reproduce_paper

    if what != "paper":
        _fail(ConfigError("cli", "WHAT", f"got {what!r}; allowed: paper"))
    try:
        if redraw:
            report = redraw_paper(out)
        else:
            report = reproduce_paper(out, budget, seeds, with_sb3, progress, log=console.print)
    except (ConfigError, ValueError) as err:
        _fail(err)
    console.print(f"wrote {report} and figures in {out}")


@app.command()
def sweep(
    spec: Annotated[
        Path, typer.Argument(help="sweep spec (YAML); see policyopt.experiments.sweep")
    ],
    executor: Annotated[str, typer.Option(help="local | ray")] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: start a local Ray)")
    ] = None,
    workers: Annotated[int, typer.Option(help="local: processes for host-env trials")] = 1,
    overwrite: Annotated[
        bool, typer.Option(help="replace an existing sweep directory of the same name")
    ] = False,
) -> None:
    """Grid or random search over recipes × envs × seeds × hyperparameters.

    Every trial's config is checked before the first one starts; a failed trial is
    reported in RUNS_DIR/NAME/sweep.json and the others continue.

    Examples:

      policyopt sweep sweeps/cartpole_lr.yaml

      policyopt sweep sweeps/lunar.yaml --executor ray --address ray://head:10001
    """
    from policyopt.experiments.sweep import load_sweep, run_sweep

    try:
        result = run_sweep(
            load_sweep(spec), executor, address, workers, log=console.print, overwrite=overwrite
        )
    except (ConfigError, ValueError) as err:
        _fail(err)
    failed = [t["trial"] for t in result["trials"] if t["status"] == "failed"]
    if failed:
        console.print(f"[yellow]{len(failed)} trial(s) failed:[/] {', '.join(failed)}")


@app.command()
def benchmark(
    suite: Annotated[
        str, typer.Argument(help="classic | box2d | mujoco, or a suite YAML file")
    ] = "classic",
    out: Annotated[
        Path | None, typer.Option(help="run directories (default: runs/benchmarks/SUITE)")
    ] = None,
    executor: Annotated[str, typer.Option(help="local | ray")] = "local",
    workers: Annotated[int, typer.Option(help="local: cells trained at a time")] = 1,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster address (default: start a local Ray)")
    ] = None,
    recipes: Annotated[
        str | None, typer.Option(help="comma-separated subset of the suite's recipes")
    ] = None,
    envs: Annotated[str | None, typer.Option(help="comma-separated subset of its envs")] = None,
    seeds: Annotated[int | None, typer.Option(help="seeds per cell (default: the suite's)")] = None,
    results: Annotated[
        Path | None, typer.Option(help="results JSON (default: OUT/results.json)")
    ] = None,
    report_dir: Annotated[
        Path | None, typer.Option(help="where SUITE.md and its figures go (default: OUT)")
    ] = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="keep the --results file's rows for cells OUT has not finished (e.g. the "
            "committed results, whose runs are gone); cells finished under OUT replace theirs",
        ),
    ] = False,
    report_only: Annotated[
        bool,
        typer.Option(
            "--report-only",
            help="train nothing: refresh the results file's published columns and aggregate, "
            "and redraw its report (curves the results store, else OUT's runs)",
        ),
    ] = False,
) -> None:
    """Recipes × environments × seeds from a suite, each cell in a process of its own, with
    mean, IQM, 95% CI, the published numbers beside ours, an rliable-style aggregate and
    learning-curve grids. Resumable: run the same command again and finished cells are kept.

    Examples:

      policyopt benchmark classic

      policyopt benchmark box2d --recipes ppo,trpo --envs LunarLander-v3

      policyopt benchmark my_suite.yaml --executor ray --address ray://head:10001

      policyopt benchmark box2d --report-only --results benchmarks/results/suite_box2d.json

      policyopt benchmark box2d --recipes pg --envs LunarLander-v3 --update --results
      benchmarks/results/suite_box2d.json
    """
    from policyopt.experiments.benchmark import load_suite, refresh_report, run_benchmark

    def split(x: str | None) -> tuple[str, ...] | None:
        return tuple(v.strip() for v in x.split(",") if v.strip()) if x else None

    try:
        spec = load_suite(suite)
        if report_only:
            given = {"--recipes": recipes, "--envs": envs, "--seeds": seeds,
                     "--address": address}  # fmt: skip
            given |= {"--executor": executor != "local" or None, "--workers": workers != 1 or None,
                      "--update": update or None}  # fmt: skip
            ignored = [k for k, v in given.items() if v is not None]
            if ignored:
                raise ConfigError(
                    "benchmark", "--report-only", f"trains nothing; drop {', '.join(ignored)}"
                )
            path = results or (out or Path("runs/benchmarks") / spec.name) / "results.json"
            if not path.exists():
                raise ConfigError("benchmark", "--results", f"{path} does not exist")
            refresh_report(path, out, report_dir, suite=spec, log=console.print)
            return
        result = run_benchmark(
            spec,
            out or Path("runs/benchmarks") / spec.name,
            executor=executor,
            workers=workers,
            address=address,
            recipes=split(recipes),
            envs=split(envs),
            seeds=seeds,
            results_path=results,
            report_dir=report_dir,
            update=update,
            log=console.print,
        )
    except (ConfigError, ValueError) as err:
        _fail(err)
    failed = [c["cell"] for c in result["cells"] if c["status"] == "failed"]
    if failed:
        console.print(f"[yellow]{len(failed)} cell(s) failed:[/] {', '.join(failed)}")
        raise typer.Exit(1)


@app.command()
def plot(
    runs: Annotated[
        list[Path], typer.Argument(help="run directories written by `policyopt train`")
    ],
    metric: Annotated[
        list[str] | None, typer.Option(help="metric name(s), e.g. train/kl_forward")
    ] = None,
    out: Annotated[Path, typer.Option(help="output file stem (PNG + SVG)")] = Path("out/compare"),
    aggregate: Annotated[
        bool,
        typer.Option(
            "--aggregate",
            help="also plot IQM and mean of final scores across environments "
            "(95% stratified bootstrap CIs) to OUT_aggregate",
        ),
    ] = False,
) -> None:
    """Overlay runs: mean across seeds with 95% bootstrap bands, one panel per metric.

    Examples:

      policyopt plot runs/ppo-CartPole-v1 runs/trpo-CartPole-v1 --out out/cartpole

      policyopt plot runs/ppo-CartPole-v1 --metric train/approx_kl --metric train/clip_fraction
    """
    import matplotlib.pyplot as plt

    from policyopt.experiments.rundir import RunDirError, read_json
    from policyopt.plots import plot_curves, save_figure
    from policyopt.runs import load_metrics

    metrics = metric or ["rollout/ep_rew_mean", "train/kl_forward", "train/clip_fraction"]
    loaded = {}
    for run in runs:
        if not (run / "metrics.csv").exists():
            _fail(ConfigError("cli", "RUNS", f"{run} has no metrics.csv (not a run directory)"))
        try:
            cfg_json = read_json(run / "config.json")
            algo = display_name(cfg_json["algo"], cfg_json)
        except RunDirError as err:
            _fail(err)
        except (KeyError, TypeError):
            _fail(RunDirError(f'{run / "config.json"}: no recipe name ("algo")'))
        loaded[f"{algo} ({run.name})" if len(runs) > 1 else algo] = load_metrics(run)
    for name in metric or []:
        if not any(name in m for m in loaded.values()):
            known = sorted({k for m in loaded.values() for k in m})
            _fail(
                ConfigError(
                    "cli", "--metric", f"{name!r} is in none of the runs{suggest(name, known)}"
                )
            )
    metrics = [n for n in metrics if any(n in m for m in loaded.values())]
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4.2), squeeze=False)
    for ax, name in zip(axes[0], metrics, strict=True):
        curves = {
            k: (m["time/total_timesteps"][0], m[name]) for k, m in loaded.items() if name in m
        }
        plot_curves(curves, out, name, ax=ax)
    paths = save_figure(fig, out)
    if aggregate:
        paths += _plot_aggregate(runs, out.with_name(out.name + "_aggregate"))
    console.print(f"wrote {', '.join(str(p) for p in paths)}")


def _plot_aggregate(runs: list[Path], out: Path) -> list[Path]:
    """Group runs by recipe and environment; scores = final evaluation return per seed,
    min–max normalised per environment over all runs shown (0 = worst, 1 = best seed)."""
    import json

    import numpy as np

    from policyopt.plots import plot_aggregate

    by: dict[str, dict[str, list[float]]] = {}
    for run in runs:
        cfg = json.loads((run / "config.json").read_text())
        summary = json.loads((run / "summary.json").read_text())
        label = cfg.get("run", {}).get("library", "policyopt") + " " + cfg["algo"]
        by.setdefault(label, {}).setdefault(cfg["env_id"], []).extend(
            summary["eval_mean_return_per_seed"]
        )
    envs = sorted({e for d in by.values() for e in d})
    missing = [(a, e) for a in by for e in envs if e not in by[a]]
    if missing:
        _fail(ConfigError("cli", "--aggregate", f"every recipe needs every env; missing {missing}"))
    n_runs = min(len(by[a][e]) for a in by for e in envs)
    scores = {}
    for a in by:
        cols = []
        for e in envs:
            everything = np.concatenate([by[b][e] for b in by])
            lo, hi = everything.min(), everything.max()
            cols.append((np.asarray(by[a][e][:n_runs]) - lo) / max(hi - lo, 1e-12))
        scores[a] = np.stack(cols, axis=1)
    return plot_aggregate(scores, out, envs)


def main() -> None:
    """The ``policyopt`` console entry point: run the command, then skip the interpreter's
    teardown.

    Python's finalisation after JAX has run (module teardown, collecting its objects, the XLA
    client) takes 0.3–0.5 s on a 2-core machine: a tenth of a whole ``policyopt train`` on
    CartPole, spent after the last file is written. Everything a command writes is closed by
    then (atomic writes), so once the command has returned the exit handlers run and the
    process leaves with ``os._exit``; with a non-daemon thread still alive it exits the usual
    way, which waits for it.
    """
    import atexit
    import contextlib
    import os
    import sys
    import threading

    try:
        app()
        code: int = 0
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:  # sys.exit("message"): printed, status 1, as Python does
            print(stop.code, file=sys.stderr)
            code = 1
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if others:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # a closed pipe (policyopt ... | head) loses nothing
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
