"""The benchmark's Markdown report and figures, drawn from its results file and run directories.

Kept apart from :mod:`policyopt.experiments.benchmark` so that a report can be redrawn from
committed results (``policyopt benchmark SUITE --report-only``) without training, and so that
matplotlib is imported only here.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_report"]


def _fmt_steps(steps: int | None) -> str:
    if steps is None:
        return "unstated"
    return f"{steps:.0e}".replace("e+0", "e").replace("e+", "e")


def published_label(p: dict[str, Any]) -> str:
    """``242.1 ± 31.8 zoo (budget 1e6; LunarLander-v2)``: a published number and every way in
    which it is not the same statistic as ours."""
    diffs = []
    if not p["same_budget"]:
        diffs.append(f"budget {_fmt_steps(p['steps'])}")
    if not p["same_statistic"]:
        diffs.append(p["statistic"])
    if not p["same_env"]:
        diffs.append(p["env"])
    extra = f" ({'; '.join(diffs)})" if diffs else ""
    # the source's name where it differs from our recipe's (zoo's "a2c" for our pg)
    from policyopt.experiments.benchmark import PUBLISHED_AS

    named = f" {p['algo'].upper()}" if p["algo"] in PUBLISHED_AS else ""
    return f"{p['mean']:.1f} ± {p['std']:.1f} {p['source']}{named}{extra}"


def _cell_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "| recipe | env | steps | mean | IQM | 95% CI | per seed | published | Δ vs published "
        "(same budget, final) | wall s | steps/s | settings |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["cells"]:
        head = f"| {r['label']} | {r['env']} | {_fmt_steps(r['steps'])} "
        if r["status"] != "ok":
            lines.append(head + f"| failed: {r.get('error', '')[:80]} |" + " |" * 8)
            continue
        pub = "<br>".join(published_label(p) for p in r["published"]) or "–"
        delta = r.get("vs_published")
        delta_s = "–" if delta is None else f"{delta:+.1f}"
        per_seed = ", ".join(f"{x:.0f}" for x in r["returns_per_seed"])
        sps = r.get("steps_per_second")
        lines.append(
            head + f"| {r['mean']:.1f} | {r['iqm']:.1f} | [{r['ci95'][0]:.1f}, {r['ci95'][1]:.1f}]"
            f" | {per_seed} | {pub} | {delta_s} | {r['wall_seconds']:.0f} | "
            f"{'–' if sps is None else f'{sps:,.0f}'} | {_settings(r)} |"
        )
    return lines


def _settings(r: dict[str, Any]) -> str:
    from policyopt.presets import PRESETS

    if r["preset"]:
        return "preset"
    used = f"defaults: {r['env_defaults']}" if r.get("env_defaults") else "config defaults"
    if (r["recipe"], r["env"]) in PRESETS:  # a preset added since: this row is not rerun yet
        return used + " (ran before its preset)"
    return used


def _provenance(result: dict[str, Any]) -> str:
    """``(commit X), date`` of the results, or each commit's cells where rows were merged
    (``--update``) from runs at several commits (a row without one ran before rows
    recorded theirs)."""
    if not any("commit" in r for r in result["cells"]):
        return f"(commit {result['commit']}), {result['date']}"
    ran = Counter((r.get("commit"), r.get("date")) for r in result["cells"])
    if len(ran) == 1 and next(iter(ran))[0] is not None:
        (commit, date), _ = ran.popitem()
        return f"(commit {commit}), {date}"
    parts = [
        (f"{n} at commit {c}" if c else f"{n} at an unrecorded commit") + (f" ({d})" if d else "")
        for (c, d), n in sorted(ran.items(), key=lambda x: x[0][1] or "")
    ]
    return "(cells ran in several invocations: " + ", ".join(parts) + ")"


def _machines(result: dict[str, Any]) -> str:
    """Where rows ran on different CPUs (or some did not record theirs), how many on each:
    the same seeds give the same numbers on one machine only."""
    cpus = Counter(r.get("cpu") for r in result["cells"])
    if len(cpus) <= 1:
        return ""
    unrecorded = cpus.pop(None, 0)
    parts = [f"{n} on {c}" for c, n in sorted(cpus.items(), key=lambda x: (-x[1], x[0]))]
    parts += [f"{unrecorded} unrecorded"] if unrecorded else []
    return (
        " Cells ran on more than one CPU (" + ", ".join(parts) + "): the same seeds reproduce "
        "a number on the machine that made it, not across machines."
    )


def _aggregate_table(agg: dict[str, Any]) -> list[str]:
    if not agg:
        return ["(no aggregate: no recipe has a finished cell on every env yet)"]
    lines = [
        f"Normalised scores over {', '.join(agg['envs'])}: {agg['statistic']}. "
        "95% stratified bootstrap CIs (Agarwal et al. 2021).",
        "",
        "| recipe | IQM | mean | optimality gap (lower is better) |",
        "|---|---|---|---|",
    ]
    for a, s in agg["per_recipe"].items():
        cells = [f"{p:.3f} [{lo:.3f}, {hi:.3f}]" for p, lo, hi in
                 (s["iqm"], s["mean"], s["optimality_gap"])]  # fmt: skip
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    poi = agg["probability_of_improvement"]
    names = list(poi)
    lines += ["", "Probability of improvement P(row > column), averaged over envs:", ""]
    lines.append("| | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for a in names:
        vals = ["–" if a == b else f"{poi[a][b]:.2f}" for b in names]
        lines.append(f"| {a} | " + " | ".join(vals) + " |")
    return lines


def _sources(result: dict[str, Any]) -> list[str]:
    seen: dict[str, tuple[str, str]] = {}
    for r in result["cells"]:
        for p in r.get("published", []):
            seen[p["source"]] = (p["cite"], p["source_note"])
    return [f"- **{k}**: {cite}. {note}." for k, (cite, note) in seen.items()]


def _curve(row: dict[str, Any], out: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """A cell's ``(steps, return [seeds, T])``: the curve its results row stores
    (:func:`policyopt.experiments.benchmark.stored_curve`: the row's own run), else, for a
    row written before rows stored one, its run directory's."""
    from policyopt.runs import load_metrics

    if row["status"] != "ok":
        return None
    if "curve" in row:
        c = row["curve"]
        return np.asarray(c["steps"], float), np.asarray(c["return_per_seed"], float)
    run = out / "cells" / row["cell"]
    if (run / "metrics.csv").exists():
        m = load_metrics(run)
        return m["time/total_timesteps"][0], m["rollout/ep_rew_mean"]
    return None


def plot_curves_grid(result: dict[str, Any], out: Path, path: Path) -> list[Path]:
    """One panel per env: ``rollout/ep_rew_mean`` of every recipe, mean with a 95% band."""
    import matplotlib.pyplot as plt

    from policyopt.plots import plot_curves, save_figure

    envs = [e for e in result["envs"] if any(r["env"] == e for r in result["cells"])]
    cols = min(3, len(envs))
    rows = -(-len(envs) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6 * cols, 4.2 * rows), squeeze=False)
    for ax, env in zip(axes.flat, envs, strict=False):
        curves = {}
        for r in result["cells"]:
            curve = _curve(r, out) if r["env"] == env else None
            if curve is not None:
                curves[r["label"]] = curve
        if curves:
            plot_curves(curves, path, "episode return (reward)", env, ax=ax)
    for ax in list(axes.flat)[len(envs) :]:
        ax.set_visible(False)
    return save_figure(fig, path)


def write_report(result: dict[str, Any], out: Path, report_dir: Path) -> list[Path]:
    """``<report_dir>/<suite>.md`` with the tables, and its figures beside it."""
    from policyopt.experiments.benchmark import normalised_scores
    from policyopt.plots import plot_aggregate
    from policyopt.runs import atomic_write_text

    report_dir.mkdir(parents=True, exist_ok=True)
    name = result["suite"]
    paths: list[Path] = []
    figs: list[str] = []
    curves_png = report_dir / f"{name}_curves.png"
    finished = [r for r in result["cells"] if r["status"] == "ok"]
    drawn = [r for r in finished if _curve(r, out) is not None]
    if drawn and (len(drawn) == len(finished) or not curves_png.exists()):
        paths += plot_curves_grid(result, out, curves_png)
        figs.append(f"![learning curves]({name}_curves.png)")
    elif curves_png.exists():  # redrawn without (all) the runs: the figure drawn from them stays
        figs.append(f"![learning curves]({name}_curves.png)")
        if drawn:  # cells rerun since (``--update``): their new curves apart
            paths += plot_curves_grid(
                result | {"cells": drawn}, out, report_dir / f"{name}_curves_rerun.png"
            )
            figs.append(
                "The figure above was drawn when the suite's cells ran; these cells ran again "
                "since (the figure shows their earlier runs): "
                + ", ".join(r["cell"] for r in drawn)
                + "."
            )
            figs.append(f"![learning curves of the cells rerun]({name}_curves_rerun.png)")
    agg = result["aggregate"]
    if agg:
        ranges = {e: v["score_range"] for e, v in result["envs"].items()}
        _, scores = normalised_scores(result["cells"], ranges)
        paths += plot_aggregate(scores, report_dir / f"{name}_aggregate.png", agg["envs"])
        figs.append(f"![aggregate]({name}_aggregate.png)")
    cells_s = result["cells_wall_seconds"]
    lines = [
        f"# Benchmark suite `{name}`",
        "",
        f"`policyopt benchmark {name}`: {len(result['cells'])} cells, {result['seeds']} seeds "
        f"each (seeds {result['seed']}–{result['seed'] + result['seeds'] - 1}), level "
        f"{result['level']}; {result['machine']}; policyopt {result['policyopt']} "
        f"{_provenance(result)}. Cells' wall time in all: "
        f"{cells_s / 60:.1f} min.{_machines(result)}",
        "",
        "Our number: the final deterministic evaluation return of each seed (reward, higher is "
        "better), mean over seeds, IQM and 95% bootstrap CI of the mean. The published column "
        "lists every number for the same algorithm and environment family; anything that is "
        "not the same statistic as ours is said in brackets (another budget, a max over "
        "training instead of a final value, another env version). Δ compares with the first "
        "published number of the same budget and statistic.",
        "",
        *_env_kwargs_notes(result),
        *_cell_table(result),
        "",
        "## Aggregate",
        "",
        *_aggregate_table(agg),
        "",
        *figs,
        "",
        "## Sources",
        "",
        *_sources(result),
        "",
    ]
    md = report_dir / f"{name}.md"
    atomic_write_text(md, "\n".join(lines))
    return [md, *paths]


def _env_kwargs_notes(result: dict[str, Any]) -> list[str]:
    """One line per environment made with keyword arguments (the task is not the default)."""
    notes = [
        f"- {env} is made with `{json.dumps(v['env_kwargs'])}` (its `env_kwargs`)."
        for env, v in result["envs"].items()
        if v.get("env_kwargs")
    ]
    return [*notes, ""] if notes else []
