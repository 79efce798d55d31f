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


if __name__ == "__main__":
    app()
