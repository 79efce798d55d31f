"""The command line: outputs, summary and one-line errors."""

from pathlib import Path

from typer.testing import CliRunner

from policyopt.cli import app

runner = CliRunner()


def test_tabular_writes_csv_plot_and_summary(tmp_path: Path) -> None:
    res = runner.invoke(
        app,
        [
            "tabular",
            "--mdp",
            "frozenlake",
            "--algos",
            "npg,trpo",
            "--iters",
            "40",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "npg" in res.output and "trpo" in res.output
    for name in ("npg.csv", "trpo.csv", "suboptimality.png", "suboptimality.svg"):
        assert (tmp_path / name).stat().st_size > 0
    header = (tmp_path / "trpo.csv").read_text().splitlines()[0]
    assert header.startswith("iteration,f,gap,kl,step_size,backtracks,accepted")
    assert len((tmp_path / "npg.csv").read_text().splitlines()) == 42


def test_unknown_algorithm_lists_valid_names(tmp_path: Path) -> None:
    res = runner.invoke(app, ["tabular", "--algos", "npg,trp", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert (
        "unknown 'trp'" in res.output
        and "adaptive_trpo" in res.output
        and "did you mean" in res.output
    )


def test_set_overrides_and_bad_field(tmp_path: Path) -> None:
    ok = runner.invoke(
        app,
        [
            "tabular",
            "--mdp",
            "chain",
            "--algos",
            "pg",
            "--iters",
            "5",
            "--set",
            "pg.eta=1.0",
            "--out",
            str(tmp_path),
        ],
    )
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(
        app, ["tabular", "--algos", "pg", "--set", "pg.etta=1.0", "--out", str(tmp_path)]
    )
    assert bad.exit_code == 2 and "PG.etta: unknown field" in bad.output
