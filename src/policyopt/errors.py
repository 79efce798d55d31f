"""Errors and validators shared by every config of the library.

Bad input must fail before anything compiles or trains, with a message that names the field
and the values it accepts (``ConfigError: PPO.clip_eps: must be in (0, 1), got -0.1``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "check_choice",
    "check_int",
    "check_range",
    "suggest",
]


class ConfigError(ValueError):
    """A configuration field has a value outside its allowed set."""

    def __init__(self, owner: str, field: str, message: str) -> None:
        super().__init__(f"{owner}.{field}: {message}")
        self.owner = owner
        self.field = field


def check_range(
    owner: str,
    field: str,
    value: float,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = True,
    high_open: bool = True,
) -> None:
    """Require ``low < value < high`` (or ``≤`` for closed ends); ``None`` means unbounded."""
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(owner, field, f"must be a number, got {value!r}") from err
    ok = v == v  # NaN check
    if low is not None:
        ok = ok and (v > low if low_open else v >= low)
    if high is not None:
        ok = ok and (v < high if high_open else v <= high)
    if not ok:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "inf)" if high is None else f"{high:g}" + (")" if high_open else "]")
        raise ConfigError(owner, field, f"must be in {lo}, {hi}, got {value!r}")


def check_int(owner: str, field: str, value: int, low: int = 1) -> None:
    """Require an integer ``≥ low``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(owner, field, f"must be an integer >= {low}, got {value!r}")


def check_choice(owner: str, field: str, value: str, allowed: Iterable[str]) -> None:
    """Require ``value`` in ``allowed``; the error lists them and suggests the closest."""
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(
            owner, field, f"got {value!r}; allowed: {', '.join(allowed)}{suggest(value, allowed)}"
        )


def suggest(name: str, allowed: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest allowed names, or an empty string."""
    close = difflib.get_close_matches(str(name), list(allowed), n=3, cutoff=0.5)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
