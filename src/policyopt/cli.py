"""The ``policyopt`` command line."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from policyopt.errors import ConfigError

app = typer.Typer(
    help="policyopt: PG, NPG, TRPO, PPO, PPO-KL, MDPO, Adaptive TRPO as one optimisation problem.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.callback()
def _main() -> None:
    """policyopt command line (run a subcommand with --help for its options and examples)."""


def parse_overrides(items: list[str], valid_prefixes: list[str]) -> dict[str, dict[str, Any]]:
    """``["npg.lam=0.1", "trpo.delta=0.02"]`` → ``{"npg": {"lam": 0.1}, "trpo": {...}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        prefix, dot, field = key.partition(".")
        if not sep or not dot or not field:
            raise ConfigError("cli", "--set", f"expected ALGO.FIELD=VALUE, got {item!r}")
        if prefix not in valid_prefixes:
            raise ConfigError(
                "cli",
                "--set",
                f"unknown algorithm {prefix!r} in {item!r}; valid: {', '.join(valid_prefixes)}",
            )
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        out.setdefault(prefix, {})[field] = value
    return out


def _fail(err: Exception) -> None:
    console.print(f"[bold red]error:[/] {err}")
    raise typer.Exit(code=2)


@app.command()
def tabular(
    mdp: Annotated[
        str, typer.Option(help="frozenlake, taxi, cliffwalking, garnet, chain, gridworld")
    ] = "frozenlake",
    algos: Annotated[
        str, typer.Option(help="comma-separated: pg,npg,trpo,ppo,ppo_kl,mdpo,adaptive_trpo")
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
        typer.Option("--set", help="hyperparameter, e.g. npg.lam=0.1 (repeatable)"),
    ] = None,
    tol: Annotated[float, typer.Option(help="report iterations until f − f* < tol")] = 1e-3,
) -> None:
    """Exact comparison of the update rules on a known MDP (cost convention: f − f* ≥ 0).

    Examples:

      policyopt tabular --mdp frozenlake --iters 200 --out out/frozenlake

      policyopt tabular --mdp chain --algos pg,npg --iters 500 --set pg.eta=1.0
    """
    from policyopt import tabular as T
    from policyopt.plots import plot_tabular

    try:
        names = [a.strip() for a in algos.split(",") if a.strip()]
        overrides = parse_overrides(set_ or [], list(T.ALGORITHMS))
        algorithms = [T.make_algorithm(n, **overrides.get(n, {})) for n in names]
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
        T.write_csv(h, out / f"{h.algorithm}.csv")
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


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``["learning_rate=1e-3", "hidden_sizes=(32,32)"]`` → typed values (Python literals)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError("cli", "--set", f"expected KEY=VALUE, got {item!r}")
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key] = raw
    return out


@app.command()
def train(
    algo: Annotated[str, typer.Argument(help="pg, npg, trpo, ppo, ppo_kl, mdpo, adaptive_trpo")],
    env: Annotated[
        str, typer.Argument(help="a gymnax id: CartPole-v1, Acrobot-v1, Pendulum-v1, …")
    ],
    seeds: Annotated[int, typer.Option(help="seeds, trained vmapped in one program")] = 1,
    steps: Annotated[int | None, typer.Option(help="total environment steps per seed")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="config field, e.g. learning_rate=1e-3")
    ] = None,
    name: Annotated[str | None, typer.Option(help="run name (default ALGO-ENV)")] = None,
    runs_dir: Annotated[Path, typer.Option(help="parent directory of run directories")] = Path(
        "runs"
    ),
    seed: Annotated[int, typer.Option(help="base random seed")] = 0,
    use_preset: Annotated[
        bool, typer.Option("--preset/--no-preset", help="start from policyopt.presets")
    ] = True,
) -> None:
    """Train a recipe on a JAX-native env, all seeds vmapped; writes runs/NAME/.

    Settings: the config defaults, then the tuned preset for (ALGO, ENV) if there is one
    (rl-zoo3 where it has an entry), then --steps and --set.

    Examples:

      policyopt train ppo CartPole-v1 --seeds 8 --steps 100000

      policyopt train trpo Pendulum-v1 --set delta=0.02 --set num_envs=16
    """
    import json

    import jax
    import numpy as np

    from policyopt.configs import make_config
    from policyopt.envs import make_jax_env
    from policyopt.presets import preset
    from policyopt.runs import save_run
    from policyopt.train import run_train

    try:
        base, budget = preset(algo, env) if use_preset else ({}, None)
        overrides = {**base, **parse_sets(set_ or [])}
        if steps is not None or budget is not None:
            overrides["total_timesteps"] = steps if steps is not None else budget
        if seeds < 1:
            raise ConfigError("cli", "--seeds", f"must be an integer >= 1, got {seeds}")
        cfg = make_config(algo, env_id=env, **overrides)
        make_jax_env(env)  # unknown ids fail here, with suggestions, before compiling
    except (ConfigError, ValueError, TypeError) as err:
        _fail(err)
    run_dir = runs_dir / (name or f"{algo}-{env}")
    with console.status(
        f"compiling and training {algo} on {env} ({seeds} seed(s), {cfg.num_updates} updates)…"
    ):
        res = run_train(cfg, seed=seed, num_seeds=seeds)
    metrics = {k: np.asarray(v) for k, v in jax.device_get(res.output.metrics).items()}
    eval_returns = np.asarray(res.output.eval_returns)
    timing = {
        "compile_seconds": res.compile_seconds,
        "run_seconds": res.run_seconds,
        "steps_per_second": res.steps_per_second,
    }
    save_run(run_dir, cfg, metrics, eval_returns, timing)
    _plot_run(run_dir, algo, env, metrics)
    summary = json.loads((run_dir / "summary.json").read_text())
    console.print(
        f"{algo} on {env}: eval return {summary['eval_mean_return']:.1f} "
        f"± {summary['eval_std_return']:.1f} "
        f"({seeds} seeds); compile {res.compile_seconds:.1f}s, run {res.run_seconds:.1f}s, "
        f"{res.steps_per_second:,.0f} steps/s → {run_dir}"
    )


def _plot_run(run_dir: Path, algo: str, env: str, metrics: dict[str, Any]) -> None:
    from policyopt.plots import plot_curves

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


@app.command()
def plot(
    runs: Annotated[
        list[Path], typer.Argument(help="run directories written by `policyopt train`")
    ],
    metric: Annotated[
        list[str] | None, typer.Option(help="metric name(s), e.g. train/kl_forward")
    ] = None,
    out: Annotated[Path, typer.Option(help="output file stem (PNG + SVG)")] = Path("out/compare"),
) -> None:
    """Overlay runs: mean across seeds with 95% bootstrap bands, one panel per metric.

    Examples:

      policyopt plot runs/ppo-CartPole-v1 runs/trpo-CartPole-v1 --out out/cartpole

      policyopt plot runs/ppo-CartPole-v1 --metric train/approx_kl --metric train/clip_fraction
    """
    import json

    import matplotlib.pyplot as plt

    from policyopt.plots import plot_curves, save_figure
    from policyopt.runs import load_metrics

    metrics = metric or ["rollout/ep_rew_mean", "train/kl_forward", "train/clip_fraction"]
    loaded = {}
    for run in runs:
        if not (run / "metrics.csv").exists():
            _fail(ConfigError("cli", "RUNS", f"{run} has no metrics.csv (not a run directory)"))
        algo = json.loads((run / "config.json").read_text())["algo"]
        loaded[f"{algo} ({run.name})" if len(runs) > 1 else algo] = load_metrics(run)
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4.2), squeeze=False)
    for ax, name in zip(axes[0], metrics, strict=True):
        curves = {
            k: (m["time/total_timesteps"][0], m[name]) for k, m in loaded.items() if name in m
        }
        if not curves:
            _fail(ConfigError("cli", "--metric", f"{name!r} is in none of the runs"))
        plot_curves(curves, out, name, ax=ax)
    paths = save_figure(fig, out)
    console.print(f"wrote {', '.join(str(p) for p in paths)}")


if __name__ == "__main__":
    app()
