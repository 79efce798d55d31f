"""Errors and validators shared by every config of the library.

Bad input must fail before anything compiles or trains, with a message that names the field
and the values it accepts (``ConfigError: PPO.clip_eps: must be in (0, 1), got -0.1``).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import numbers
import typing
from collections.abc import Iterable
from typing import Any, Literal, SupportsInt, cast

__all__ = [
    "ConfigError",
    "check_choice",
    "check_int",
    "check_range",
    "check_seed",
    "coerce_fields",
    "field_types",
    "float_fields",
    "same_shape",
    "suggest",
]


def same_shape(owner: str, **arrays: Any) -> None:
    """Require every array to have the same shape (static, at trace time).

    Per-sample quantities of different shapes (a ``[B]`` and a ``[B, 1]``) would otherwise
    broadcast silently to ``[B, B]`` and give a wrong number, not an error.
    """
    shapes = {name: tuple(getattr(a, "shape", ())) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{n}{list(s)}" for n, s in shapes.items())
        raise ValueError(f"{owner}: per-sample arrays must have one shape, got {listed}")


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
    """Require an integer ``≥ low`` (Python or NumPy integers; never a bool)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or type(value).__name__ in {"bool_", "bool"}
        or value < low
    ):
        raise ConfigError(owner, field, f"must be an integer >= {low}, got {value!r}")


#: Seeds feed NumPy's and JAX's generators, which take unsigned 32-bit seeds.
MAX_SEED = 2**32 - 1


def check_seed(owner: str, field: str, value: int) -> int:
    """Require an integer seed in [0, 2³²−1]; returns it as a Python int."""
    check_int(owner, field, value, 0)
    if value > MAX_SEED:
        raise ConfigError(owner, field, f"must be an integer in [0, {MAX_SEED}], got {value!r}")
    return int(value)


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


# --------------------------------------------------------------------- typed dataclass fields
#
# Configs are frozen dataclasses whose annotations are the contract: a float field takes any
# finite real number (``1`` and ``np.float32(1)`` included) and stores a Python float, an int
# field takes integers (and integral floats such as ``1e6`` from YAML), a bool field only
# bools, a str or Literal field only strings. Deciding by annotation rather than by the
# runtime type of the value is what keeps ``learning_rate=1`` from turning a traced
# hyperparameter into a static int (which crashed at trace time with a bare KeyError).


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool) or type(value).__name__ in {"bool_", "bool"}


@functools.cache
def field_types(cls: type) -> dict[str, Any]:
    """Resolved annotations of ``cls``'s dataclass fields (ClassVars excluded)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def float_fields(cls: type) -> list[str]:
    """Names of the fields annotated ``float`` (the traced hyperparameters of a config)."""
    return [name for name, tp in field_types(cls).items() if tp is float]


def coerce_value(owner: str, field: str, tp: Any, value: Any) -> Any:
    """``value`` converted to the field type ``tp``, or a :class:`ConfigError` naming the field."""
    if tp is float:
        if _is_bool(value) or not isinstance(value, numbers.Real):
            kind = " (a string: pass a number)" if isinstance(value, str) else ""
            raise ConfigError(owner, field, f"must be a finite number, got {value!r}{kind}")
        try:
            out = float(value)
        except OverflowError:  # an int beyond float range (e.g. 1000…0 from a crafted JSON)
            out = math.inf
        if not math.isfinite(out):
            raise ConfigError(owner, field, f"must be a finite number, got {value!r}")
        return out
    if tp is int:
        if isinstance(value, numbers.Integral) and not _is_bool(value):
            return int(value)
        if (
            isinstance(value, numbers.Real)
            and not _is_bool(value)
            and math.isfinite(float(value))
            and float(value).is_integer()
        ):
            return int(cast(SupportsInt, value))  # float(value) cannot overflow: ints returned
        raise ConfigError(owner, field, f"must be an integer, got {value!r}")
    if tp is bool:
        if not _is_bool(value):
            raise ConfigError(owner, field, f"must be True or False, got {value!r}")
        return bool(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(owner, field, f"must be a string, got {value!r}")
        return value
    coerce = getattr(tp, "coerce", None)
    if callable(coerce):  # a field type that validates itself (policyopt.env_kwargs)
        return coerce(owner, field, value)
    origin = typing.get_origin(tp)
    if origin is Literal:
        check_choice(owner, field, value, [str(a) for a in typing.get_args(tp)])
        return value
    if origin is tuple:
        (item_tp, *_rest) = typing.get_args(tp)
        if isinstance(value, str | bytes) or not isinstance(value, Iterable):
            raise ConfigError(owner, field, f"must be a sequence such as (64, 64), got {value!r}")
        return tuple(coerce_value(owner, field, item_tp, v) for v in value)
    return value


def coerce_fields(obj: Any) -> None:
    """Coerce every field of the frozen dataclass ``obj`` in place to its annotated type."""
    owner = type(obj).__name__
    for name, tp in field_types(cast(type, type(obj))).items():
        value = coerce_value(owner, name, tp, getattr(obj, name))
        object.__setattr__(obj, name, value)
