"""Figures: tabular suboptimality curves (more panels arrive with the deep levels)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: plots are files, never windows
import matplotlib.pyplot as plt
import numpy as np

from policyopt.tabular.run import History

__all__ = ["plot_tabular", "save_figure"]


def save_figure(fig: plt.Figure, path: str | os.PathLike[str]) -> list[Path]:
    """Save ``fig`` as PNG and SVG next to each other (atomically: temp file + rename)."""
    base = Path(path).with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for ext in ("png", "svg"):
        final = base.with_suffix(f".{ext}")
        tmp = final.with_name(f".{final.name}.tmp")
        fig.savefig(tmp, format=ext, dpi=130, bbox_inches="tight")
        os.replace(tmp, final)
        out.append(final)
    plt.close(fig)
    return out


def plot_tabular(
    histories: Sequence[History], path: str | os.PathLike[str], title: str | None = None
) -> list[Path]:
    """``f − f*`` (cost, log scale) against iteration, one line per algorithm."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    floor = 1e-16
    for h in histories:
        ax.semilogy(np.arange(len(h.f)), np.maximum(h.gap, floor), label=h.algorithm, lw=1.6)
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"$f(\pi_k) - f^*$  (cost, exact)")
    ax.set_title(title or (histories[0].mdp if histories else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(ncol=2, fontsize=9)
    return save_figure(fig, path)
