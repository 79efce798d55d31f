"""Finite MDPs with known dynamics: the exact level of policyopt.

The tabular level mirrors the paper (seed §2), so it speaks **cost**: an agent minimises
``f(π) = V^π(μ) = E[Σ_t γ^t C(s_t, a_t)]``. Use :meth:`TabularMDP.from_reward` to build one
from rewards (``cost = −reward``); every deep level of the library speaks reward instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MDPValidationError", "TabularMDP"]

_ROW_TOL = 1e-8


class MDPValidationError(ValueError):
    """An MDP field is malformed. The message names the field and what is allowed."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"TabularMDP.{field_name}: {message}")
        self.field = field_name


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A discounted finite MDP ``(S, A, P, C, γ, μ)`` in the paper's cost convention.

    Attributes:
        P: transition tensor ``P[s, a, s']`` (non-negative, rows sum to 1 within 1e-8).
        cost: ``cost[s, a]``, finite; the paper's ``C``. Reward users: see ``from_reward``.
        gamma: discount factor in the open interval (0, 1).
        mu: initial state distribution (non-negative, sums to 1 within 1e-8).
        name: a label used by plots and the CLI.

    All arrays are stored as read-only float64 copies; construction validates every field
    and raises :class:`MDPValidationError` naming the field, so nothing trains on a bad MDP.
    """

    P: np.ndarray
    cost: np.ndarray
    gamma: float
    mu: np.ndarray
    name: str = field(default="mdp")

    def __post_init__(self) -> None:
        P = _as_float_array("P", self.P, ndim=3)
        cost = _as_float_array("cost", self.cost, ndim=2)
        mu = _as_float_array("mu", self.mu, ndim=1)
        S, A, S2 = P.shape
        if S == 0 or A == 0:
            raise MDPValidationError("P", f"needs at least one state and action, got {P.shape}")
        if S2 != S:
            raise MDPValidationError("P", f"must have shape (S, A, S), got {P.shape}")
        if not np.all(np.isfinite(P)):
            raise MDPValidationError("P", "contains NaN or infinite entries")
        if np.any(P < 0):
            raise MDPValidationError("P", f"must be non-negative (min entry {P.min():.3g})")
        rows = P.sum(axis=2)
        worst = np.abs(rows - 1.0).max()
        if worst > _ROW_TOL:
            s, a = np.unravel_index(np.abs(rows - 1.0).argmax(), rows.shape)
            raise MDPValidationError(
                "P",
                f"rows must sum to 1 within {_ROW_TOL:g}; P[{s}, {a}, :] sums to {rows[s, a]!r}",
            )
        if cost.shape != (S, A):
            raise MDPValidationError("cost", f"must have shape (S, A) = {(S, A)}, got {cost.shape}")
        if not np.all(np.isfinite(cost)):
            raise MDPValidationError("cost", "must be finite (found NaN or inf)")
        if mu.shape != (S,):
            raise MDPValidationError("mu", f"must have shape (S,) = {(S,)}, got {mu.shape}")
        if not np.all(np.isfinite(mu)) or np.any(mu < 0) or abs(mu.sum() - 1.0) > _ROW_TOL:
            raise MDPValidationError(
                "mu", f"must be a probability distribution (non-negative, sum 1); sum={mu.sum()!r}"
            )
        try:
            gamma = float(self.gamma)
        except (TypeError, ValueError) as err:
            raise MDPValidationError(
                "gamma", f"must be a float in (0, 1), got {self.gamma!r}"
            ) from err
        if not 0.0 < gamma < 1.0:
            raise MDPValidationError(
                "gamma", f"must lie in the open interval (0, 1), got {gamma!r}"
            )
        for name, arr in (("P", P), ("cost", cost), ("mu", mu)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "gamma", gamma)

    @classmethod
    def from_reward(
        cls,
        P: np.ndarray,
        reward: np.ndarray,
        gamma: float,
        mu: np.ndarray,
        name: str = "mdp",
    ) -> TabularMDP:
        """Build an MDP from rewards (Gymnasium's convention): ``cost = −reward``."""
        r = _as_float_array("reward", reward, ndim=2)
        if not np.all(np.isfinite(r)):
            raise MDPValidationError("reward", "must be finite (found NaN or inf)")
        return cls(P=P, cost=-r, gamma=gamma, mu=mu, name=name)

    @property
    def n_states(self) -> int:
        return int(self.P.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.P.shape[1])

    @property
    def reward(self) -> np.ndarray:
        """``−cost``: the same MDP in the reward convention."""
        return -self.cost

    def __repr__(self) -> str:
        return (
            f"TabularMDP(name={self.name!r}, S={self.n_states}, A={self.n_actions}, "
            f"gamma={self.gamma})"
        )


def _as_float_array(name: str, value: object, ndim: int) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as err:
        raise MDPValidationError(
            name, f"must be a numeric array, got {type(value).__name__}"
        ) from err
    if arr.ndim != ndim:
        raise MDPValidationError(name, f"must be a {ndim}-D array, got {arr.ndim}-D {arr.shape}")
    return arr
