"""What an :class:`policyopt.Agent` checkpoint's meta must hold, checked field by field.

The meta says what the checkpoint's arrays are (recipe, environment, config, settings,
counters). ``Agent.load`` builds the networks the meta describes and checks every array
against them, so the meta itself is checked first, each field for presence, type and range:
a meta that claims another recipe, a missing ``settings`` key or ``update=-5`` is refused here
with :class:`~policyopt.checkpoint.CheckpointError` naming the field, never later as a bare
``KeyError`` or inside a matmul. Run directories compare a checkpoint's meta with their spec
through the same :func:`identity` and :func:`field_differences`, without building an Agent.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from policyopt.checkpoint import CheckpointError
from policyopt.configs import CONFIGS, make_config, with_added_fields
from policyopt.errors import MAX_SEED, ConfigError

__all__ = [
    "AgentMeta",
    "check_agent_meta",
    "default_checkpoint_every",
    "field_differences",
    "identity",
]

#: the Agent's settings saved with it, and their types
SETTINGS: dict[str, type] = {
    "vectorization": str,
    "normalize_obs": bool,
    "normalize_reward": bool,
    "checkpoint_every": int,
}


@dataclass(frozen=True)
class AgentMeta:
    """A checked meta: every field present, typed and in range."""

    algo: str
    env_id: str
    seed: int
    config: dict[str, Any]
    settings: dict[str, Any]
    update: int
    history: list[dict[str, float]]
    train_seconds: float


def default_checkpoint_every(rollout_size: int) -> int:
    """Updates per checkpoint segment when none is given: segments of ≥ 50,000 steps."""
    return max(1, -(-50_000 // rollout_size))


def identity(
    algo: str, env_id: str, seed: int, config: Any, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """What makes two checkpoints the same run: recipe, env, seed, every config field and the
    settings, as JSON values (``config`` may be a config dataclass or its dict)."""
    cfg = (
        dataclasses.asdict(cast(Any, config)) if dataclasses.is_dataclass(config) else dict(config)
    )
    return {
        "algo": algo,
        "env_id": env_id,
        "seed": seed,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.items()},
        "settings": dict(settings),
    }


def field_differences(
    found: Mapping[str, Any],
    expected: Mapping[str, Any],
    found_name: str = "checkpoint",
    expected_name: str = "spec",
    prefix: str = "",
) -> list[str]:
    """``["config.learning_rate: checkpoint 0.001, spec 0.0003", ...]``, nested maps walked."""
    out = []
    for key in sorted(set(found) | set(expected), key=str):
        name = f"{prefix}{key}"
        if key not in found or key not in expected:
            side = found_name if key not in found else expected_name
            out.append(f"{name}: missing in the {side}")
            continue
        a, b = _plain(found[key]), _plain(expected[key])
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += field_differences(a, b, found_name, expected_name, f"{name}.")
        elif a != b or (type(a) is bool) != (type(b) is bool):
            out.append(f"{name}: {found_name} {a!r}, {expected_name} {b!r}")
    return out


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _bad(path: Path, field: str, message: str) -> CheckpointError:
    return CheckpointError(f"{path}: meta.{field}: {message}")


def _get(path: Path, d: Mapping[str, Any], field: str, kind: type | tuple[type, ...]) -> Any:
    """``d[field]`` with its type checked (bools are not integers here)."""
    name = field.rsplit(".", 1)[-1]
    if name not in d:
        raise _bad(path, field, "missing")
    v = d[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
        want = " or ".join(k.__name__ for k in kinds)
        raise _bad(path, field, f"expected {want}, got {v!r}")
    return v


def _check_config(path: Path, algo: str, env_id: str, config: dict[str, Any]) -> None:
    fields = [f.name for f in dataclasses.fields(CONFIGS[algo])]
    missing = [f for f in fields if f not in config]
    unknown = [k for k in config if k not in fields]
    if missing or unknown:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"not fields of recipe {algo!r}: {', '.join(unknown)}"] if unknown else []
        raise _bad(path, "config", "; ".join(parts))
    if config["env_id"] != env_id:
        raise _bad(path, "config.env_id", f"{config['env_id']!r} but meta.env_id is {env_id!r}")
    try:
        make_config(algo, **config)
    except ConfigError as err:
        raise _bad(path, f"config.{err.field}", str(err)) from err


def _check_history(path: Path, history: list[Any], update: int) -> None:
    if len(history) != update:
        raise _bad(path, "history", f"{len(history)} entries but meta.update is {update}")
    for i, row in enumerate(history):
        if not isinstance(row, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
            for k, v in row.items()
        ):
            raise _bad(path, f"history[{i}]", "expected a map of metric names to numbers")


def check_agent_meta(path: str | Path, meta: Mapping[str, Any]) -> AgentMeta:
    """Every field of an Agent checkpoint's meta checked; the first bad one is named."""
    path = Path(path)
    algo = _get(path, meta, "algo", str)
    if algo not in CONFIGS:
        raise _bad(path, "algo", f"unknown recipe {algo!r}; valid: {', '.join(CONFIGS)}")
    env_id = _get(path, meta, "env_id", str)
    seed = _get(path, meta, "seed", int)
    if not 0 <= seed <= MAX_SEED:
        raise _bad(path, "seed", f"must be in [0, {MAX_SEED}], got {seed}")
    config = with_added_fields(_get(path, meta, "config", dict), algo)  # older ones load
    _check_config(path, algo, env_id, config)
    settings = _get(path, meta, "settings", dict)
    for name, kind in SETTINGS.items():
        _get(path, settings, f"settings.{name}", kind)
    if unknown := sorted(set(settings) - set(SETTINGS)):
        raise _bad(path, "settings", f"unknown keys {', '.join(unknown)}")
    if (every := settings["checkpoint_every"]) < 1:
        raise _bad(path, "settings.checkpoint_every", f"must be >= 1, got {every}")
    update = _get(path, meta, "update", int)
    if update < 0:
        raise _bad(path, "update", f"must be >= 0, got {update}")
    history = _get(path, meta, "history", list)
    _check_history(path, history, update)
    seconds = _get(path, meta, "train_seconds", (int, float))
    if not math.isfinite(seconds) or seconds < 0:
        raise _bad(path, "train_seconds", f"must be a finite number >= 0, got {seconds!r}")
    return AgentMeta(algo, env_id, seed, config, settings, update, history, float(seconds))
