"""Run exact algorithms for a number of iterations and record what each step did."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from policyopt.atomic import atomic_path
from policyopt.errors import check_int
from policyopt.tabular.algorithms import TabularAlgorithm
from policyopt.tabular.exact import Optimum, evaluate, optimal, softmax_np
from policyopt.tabular.mdp import TabularMDP

__all__ = ["History", "run", "write_csv"]


@dataclass(frozen=True)
class History:
    """Per-iteration record of one run (cost convention: lower f is better).

    Index 0 is the initial policy; index k the policy after k updates. ``kl``, ``step_size``,
    ``backtracks`` and ``accepted`` describe the update that produced iterate k (0 / True at
    index 0). ``extra`` holds algorithm-specific series (β, t_k, clip fraction, …).
    """

    algorithm: str
    mdp: str
    f: np.ndarray
    f_star: float
    kl: np.ndarray
    step_size: np.ndarray
    backtracks: np.ndarray
    accepted: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def gap(self) -> np.ndarray:
        """``f − f*`` per iterate (≥ 0 up to round-off)."""
        return self.f - self.f_star

    def iterations_to(self, tol: float) -> int | None:
        """First iteration with ``f − f* < tol``, or None if never reached."""
        hit = np.flatnonzero(self.gap < tol)
        return int(hit[0]) if hit.size else None


def run(
    mdp: TabularMDP,
    algorithm: TabularAlgorithm,
    iterations: int,
    theta0: np.ndarray | None = None,
    optimum: Optimum | None = None,
) -> History:
    """Apply ``algorithm`` ``iterations`` times from ``theta0`` (default: uniform policy).

    Every iterate is evaluated exactly (one LU solve), so f − f* is exact, not estimated.
    """
    check_int("run", "iterations", iterations, 0)
    theta = (
        np.zeros((mdp.n_states, mdp.n_actions))
        if theta0 is None
        else np.asarray(theta0, np.float64)
    )
    if theta.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"run.theta0: must have shape {(mdp.n_states, mdp.n_actions)}, got {theta.shape}"
        )
    opt = optimum if optimum is not None else optimal(mdp)
    state = algorithm.init(mdp, theta)

    ev = evaluate(mdp, softmax_np(state.theta))
    f, kl, steps, backs, acc = [float(ev.f)], [0.0], [0.0], [0], [True]
    extra: dict[str, list[float]] = {}
    for k in range(iterations):
        state, info = algorithm.step(mdp, state, k, ev)
        ev = evaluate(mdp, softmax_np(state.theta))
        f.append(float(ev.f))
        kl.append(info.kl)
        steps.append(info.step_size)
        backs.append(info.backtracks)
        acc.append(info.accepted)
        for key, val in info.extra.items():
            extra.setdefault(key, [float("nan")] * (k + 1)).append(val)
        for series in extra.values():
            if len(series) < k + 2:
                series.append(float("nan"))
    return History(
        algorithm=getattr(algorithm, "label", algorithm.name),
        mdp=mdp.name,
        f=np.asarray(f),
        f_star=float(opt.f),
        kl=np.asarray(kl),
        step_size=np.asarray(steps),
        backtracks=np.asarray(backs),
        accepted=np.asarray(acc),
        extra={k: np.asarray(v) for k, v in extra.items()},
    )


def write_csv(history: History, path: str | os.PathLike[str]) -> Path:
    """Write one history as CSV atomically (:mod:`policyopt.atomic`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [
        "iteration",
        "f",
        "gap",
        "kl",
        "step_size",
        "backtracks",
        "accepted",
        *sorted(history.extra),
    ]
    with atomic_path(path) as tmp_path, open(tmp_path, "x", newline="") as tmp:
        writer = csv.writer(tmp)
        writer.writerow(cols)
        for k in range(len(history.f)):
            row = [
                k,
                history.f[k],
                history.gap[k],
                history.kl[k],
                history.step_size[k],
                int(history.backtracks[k]),
                int(bool(history.accepted[k])),
            ]
            row += [history.extra[key][k] for key in sorted(history.extra)]
            writer.writerow(
                [repr(float(x)) if isinstance(x, float | np.floating) else x for x in row]
            )
    return path
