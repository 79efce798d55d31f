"""Keyword arguments of an environment's constructor, as a config field.

Gymnasium ids take ``gym.make``'s keyword arguments (``Ant-v5``'s
``include_cfrc_ext_in_observation``, ``Pendulum-v1``'s ``g``), gymnax ids their ``EnvParams``
fields. They belong to the config (:attr:`policyopt.configs.BaseConfig.env_kwargs`) because
they change the task: they are saved with checkpoints, compared on resume, part of the
compiled program's cache key, and shown in ``config.json``.

:class:`EnvKwargs` is a read-only, hashable ``dict`` (configs are frozen and hashed) whose
values are JSON scalars or tuples of them, so that it survives ``config.json`` and the
checkpoint meta unchanged. EnvPool spells a few of Gymnasium's MuJoCo arguments differently;
:func:`envpool_kwargs` translates them, so "auto" can keep EnvPool for the same task.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from policyopt.errors import ConfigError

__all__ = ["NOT_SHARED", "NO_ENV_KWARGS", "EnvKwargs", "envpool_kwargs"]


def _value(owner: str, field: str, key: str, v: Any) -> Any:
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    if isinstance(v, list | tuple):
        return tuple(_value(owner, field, key, x) for x in v)
    raise ConfigError(
        owner,
        f"{field}.{key}",
        f"must be a number, bool, string, None or a list of them, got {v!r} ({type(v).__name__})",
    )


class EnvKwargs(dict[str, Any]):
    """Read-only, hashable keyword arguments (keys sorted; lists stored as tuples)."""

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        pairs = dict(items)
        super().__init__(sorted(pairs.items()))

    @classmethod
    def coerce(cls, owner: str, field: str, value: Any) -> EnvKwargs:
        """``value`` (a mapping, ``None``, or its JSON text) validated into an EnvKwargs."""
        if value is None:
            return cls()
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as err:
                raise ConfigError(owner, field, f"not a JSON object: {value!r} ({err})") from None
        if not isinstance(value, Mapping):
            raise ConfigError(
                owner,
                field,
                f"must be a mapping of keyword arguments such as "
                f'{{"include_cfrc_ext_in_observation": false}}, got {value!r}',
            )
        out = {}
        for key, v in value.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise ConfigError(owner, field, f"keys must be argument names, got {key!r}")
            out[key] = _value(owner, field, key, v)
        return cls(out)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))

    def __repr__(self) -> str:
        return f"EnvKwargs({dict.__repr__(self)})"

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("EnvKwargs is read-only: build a new one")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]
    __ior__ = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (EnvKwargs, (dict(self),))


#: the default: the environment as registered
NO_ENV_KWARGS = EnvKwargs()

#: Gymnasium's MuJoCo (v5) arguments whose EnvPool names differ: one argument → EnvPool's.
_ENVPOOL_RENAMED = {
    "include_cfrc_ext_in_observation": ("use_contact_force",),
    "healthy_z_range": ("healthy_z_min", "healthy_z_max"),
    "contact_force_range": ("contact_force_min", "contact_force_max"),
    "healthy_angle_range": ("healthy_angle_min", "healthy_angle_max"),
    "healthy_state_range": ("healthy_state_min", "healthy_state_max"),
}

#: EnvPool options that are not the task's: its pool's own (set by policyopt), and
#: ``xml_file`` (same name, different meaning: Gymnasium's is a path, EnvPool's a name in its
#: own assets)
NOT_SHARED = frozenset(
    {"num_envs", "batch_size", "num_threads", "max_num_players", "thread_affinity_offset",
     "base_path", "seed", "env_seed", "gym_reset_return_info", "frame_stack",
     "reward_threshold", "xml_file"}
)  # fmt: skip


def envpool_kwargs(kwargs: Mapping[str, Any], config_keys: Iterable[str]) -> dict[str, Any] | None:
    """``kwargs`` (Gymnasium's spelling) in EnvPool's, or None if EnvPool's env (whose
    configurable keys are ``config_keys``) cannot take one of them: "auto" then uses
    Gymnasium's env, and an explicit ``vectorization="envpool"`` fails naming the key."""
    keys = set(config_keys) - NOT_SHARED
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        names = _ENVPOOL_RENAMED.get(key, (key,))
        if not set(names) <= keys:
            return None
        if len(names) == 1:
            out[names[0]] = value
        elif isinstance(value, tuple) and len(value) == len(names):
            out.update(zip(names, value, strict=True))
        else:
            return None
    return out
