"""Figures: tabular suboptimality curves and learning curves with bootstrap bands."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib

matplotlib.use("Agg")  # headless: plots are files, never windows
import matplotlib.pyplot as plt
import numpy as np

from policyopt.atomic import atomic_path
from policyopt.tabular.run import History

__all__ = [
    "Interval",
    "bootstrap_ci",
    "iqm",
    "plot_aggregate",
    "plot_curves",
    "plot_natural_diagnostics",
    "plot_tabular",
    "save_figure",
    "stratified_bootstrap_ci",
]


def save_figure(fig: plt.Figure, path: str | os.PathLike[str]) -> list[Path]:
    """Save ``fig`` as PNG and SVG next to each other (atomically: :mod:`policyopt.atomic`)."""
    base = Path(path).with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    # The tight box is measured once: ``bbox_inches="tight"`` would draw the figure an extra
    # time for every format (a third of a CLI run's post-processing).
    bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)  # type: ignore[attr-defined]
    for ext in ("png", "svg"):
        final = base.with_suffix(f".{ext}")
        with atomic_path(final, keep_suffix=True) as tmp:
            fig.savefig(tmp, format=ext, dpi=130, bbox_inches=bbox)
        out.append(final)
    plt.close(fig)
    return out


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _decade(y: float, _pos: int | None = None) -> str:
    """``10⁻³`` for a power of ten, nothing between: a log axis label in plain text."""
    exponent = round(math.log10(y)) if y > 0 else None
    if exponent is None or not math.isclose(y, 10.0**exponent, rel_tol=1e-9):
        return ""
    return "1" if exponent == 0 else f"10{str(exponent).translate(_SUPERSCRIPT)}"


def log_axis(ax: plt.Axes, axis: str = "y") -> None:
    """A log scale labelled in plain text (Unicode superscripts).

    Matplotlib's default log labels are mathtext (``$10^{-3}$``), and the first mathtext label
    of a process builds its parser: saving the tabular figure took 0.9-1.4 s with it and
    0.3-0.6 s without (a loaded 2-core machine), for labels plain text draws identically.
    Minor ticks keep matplotlib's rule (labelled only when the axis spans about a decade or
    less, where no power of ten may be in view), with its plain-text formatter.
    """
    from matplotlib.ticker import FuncFormatter, LogFormatter

    getattr(ax, f"set_{axis}scale")("log")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(_decade))
    target.set_minor_formatter(LogFormatter(labelOnlyBase=False))


def plot_tabular(
    histories: Sequence[History], path: str | os.PathLike[str], title: str | None = None
) -> list[Path]:
    """``f − f*`` (cost, log scale) against iteration, one line per algorithm."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    floor = 1e-16
    for h in histories:
        ax.plot(np.arange(len(h.f)), np.maximum(h.gap, floor), label=h.algorithm, lw=1.6)
    log_axis(ax)
    ax.set_xlabel("iteration k")
    ax.set_ylabel("f(πₖ) − f*  (cost, exact)")
    ax.set_title(title or (histories[0].mdp if histories else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(ncol=2, fontsize=9)
    return save_figure(fig, path)


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 2000, ci: float = 0.95, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap CI of the mean across seeds (axis 0), per column; NaNs ignored."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    n = values.shape[0]
    idx = rng.integers(0, n, size=(n_boot, n))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(values[idx], axis=1)
        lo = np.nanpercentile(means, 100 * (1 - ci) / 2, axis=0)
        hi = np.nanpercentile(means, 100 * (1 + ci) / 2, axis=0)
    return lo, hi


def plot_curves(
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike[str],
    ylabel: str,
    title: str = "",
    ax: plt.Axes | None = None,
) -> list[Path] | None:
    """Mean across seeds with a 95% bootstrap band, one line per label.

    ``curves[label] = (x [T], y [seeds, T])``. With ``ax`` given, draws there and saves nothing.
    """
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7, 4.5))
    assert ax is not None
    for label, (x, y) in curves.items():
        y = np.atleast_2d(y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(y, axis=0)
        line = ax.plot(x, mean, label=f"{label} (n={y.shape[0]})", lw=1.6)[0]
        if y.shape[0] > 1:
            lo, hi = bootstrap_ci(y)
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=9)
    return save_figure(fig, path) if own else None


def plot_natural_diagnostics(
    x: np.ndarray, metrics: dict[str, np.ndarray], path: str | os.PathLike[str], title: str = ""
) -> list[Path]:
    """CG and line-search diagnostics of the natural-gradient recipes (NPG, TRPO), 4 panels.

    CG residual (log scale) and iterations; line-search backtracks and acceptance; step size;
    expected (first-order model) vs actual improvement of the surrogate (reward convention).
    """
    panels = [
        ("train/cg_residual", "CG residual ‖Fd − g‖²", True),
        ("train/backtracks", "line-search backtracks", False),
        ("train/step_size", "step size along F⁻¹g", True),
        ("train/actual_improve", "surrogate improvement", False),
    ]
    if "train/direction_cosine" in metrics:  # sampled against the dense solve
        panels.append(("train/direction_cosine", "cosine to the exact direction", False))
    if "train/damping" in metrics:
        panels.append(("train/damping", "damping λ", True))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2))
    for ax, (key, label, log) in zip(axes, panels, strict=True):
        curves = {}
        if key in metrics:
            curves["actual" if key == "train/actual_improve" else key.split("/")[1]] = (
                x,
                metrics[key],
            )
        if key == "train/actual_improve" and "train/expected_improve" in metrics:
            curves["expected (linear model)"] = (x, metrics["train/expected_improve"])
        if key == "train/direction_cosine" and "train/direction_rel_error" in metrics:
            curves["relative error"] = (x, metrics["train/direction_rel_error"])
        if key == "train/backtracks" and "train/accepted" in metrics:
            curves["accepted (fraction)"] = (x, metrics["train/accepted"])
        if curves:
            plot_curves(curves, path, label, title, ax=ax)
            if log:
                log_axis(ax)
        else:
            ax.set_visible(False)
    return save_figure(fig, path)


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all ``[runs, tasks]`` scores: the mean of the middle 50%.

    Agarwal et al. (2021), *Deep RL at the Edge of the Statistical Precipice*: robust to
    outlier runs, more efficient than the median. rliable computes it as
    ``scipy.stats.trim_mean(scores, 0.25, axis=None)``, and so do we: the ``rliable`` package
    (1.2.0) installs here but fails to import (its ``arch`` dependency breaks on pandas 3).
    """
    from scipy.stats import trim_mean

    return float(trim_mean(np.asarray(scores, np.float64), 0.25, axis=None))


class Interval(NamedTuple):
    """A point estimate and its confidence interval."""

    point: float
    low: float
    high: float


def stratified_bootstrap_ci(
    scores: np.ndarray, statistic: Any, n_boot: int = 2000, ci: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Percentile CI of ``statistic(scores)``, resampling runs with replacement *within* each
    task (column), as rliable's stratified bootstrap does."""
    scores = np.asarray(scores, np.float64)
    rng = np.random.default_rng(seed)
    n_runs, n_tasks = scores.shape
    idx = rng.integers(0, n_runs, size=(n_boot, n_runs, n_tasks))
    stats = np.array([statistic(np.take_along_axis(scores, i, axis=0)) for i in idx])
    a = 100 * (1 - ci) / 2
    return (
        float(statistic(scores)),
        float(np.percentile(stats, a)),
        float(np.percentile(stats, 100 - a)),
    )


def plot_aggregate(
    scores: dict[str, np.ndarray], path: str | os.PathLike[str], tasks: Sequence[str] = ()
) -> list[Path]:
    """IQM and mean of normalised scores per algorithm with 95% stratified bootstrap CIs.

    ``scores[algo]`` is ``[runs, tasks]`` (normalised per task, e.g. to [0, 1]).
    """
    algos = list(scores)
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.6 * len(algos) + 1.6), sharey=True)
    for ax, (name, stat) in zip(
        axes, (("IQM", iqm), ("mean", lambda s: float(np.mean(s)))), strict=True
    ):
        for y, algo in enumerate(algos):
            point, lo, hi = stratified_bootstrap_ci(scores[algo], stat)
            ax.barh(y, hi - lo, left=lo, height=0.6, alpha=0.35, color=f"C{y}")
            ax.plot([point, point], [y - 0.3, y + 0.3], color=f"C{y}", lw=2.5)
        ax.set_yticks(range(len(algos)), algos)
        ax.set_xlabel(f"{name} of normalised score (95% stratified bootstrap CI)")
        ax.grid(True, axis="x", alpha=0.3)
    if tasks:
        fig.suptitle(f"across {len(tasks)} environment(s): {', '.join(tasks)}", fontsize=10)
    return save_figure(fig, path)
