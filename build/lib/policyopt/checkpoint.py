"""Checkpoints that never execute code on load and never return what they did not verify.

Format, version 2 (one file, written by :func:`policyopt.atomic.atomic_write_bytes`): a
msgpack map ``{"format": "policyopt-checkpoint", "version": 2, "sha256": <hex>, "body":
<bytes>}``. ``body`` is itself a msgpack map ``{"meta": <JSON text>, "state": <bytes>}``
where ``state`` is a nested map of arrays encoded by ``flax.serialization`` (msgpack ext
types for ndarrays only) and ``sha256`` is the digest of ``body``. msgpack decodes data,
never objects, so a crafted file cannot run code.

Reading is two steps, both raising :class:`CheckpointError` with the file and the field:

1. :func:`read_checkpoint` checks format, version and the digest before decoding the body,
   so a flipped byte anywhere is refused instead of loading as a silently wrong parameter.
2. :func:`verify_state` checks the decoded state against a template (what the meta says the
   state must be: for an :class:`policyopt.Agent`, the networks built from the config and the
   environment's spaces) leaf by leaf, path, shape and dtype, before anything is returned.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
from flax import serialization

from policyopt.atomic import atomic_write_bytes
from policyopt.checkpoint_format import CHECKPOINT_VERSION, FORMAT

__all__ = [
    "FORMAT",
    "VERSION",
    "AnyLength",
    "CheckpointError",
    "read_checkpoint",
    "verify_state",
    "write_checkpoint",
]

VERSION = CHECKPOINT_VERSION


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, corrupted, of another format version, or describes
    something other than what it holds (the message names the file and the field)."""


@dataclass(frozen=True)
class AnyLength:
    """Template leaf for a 1-D array whose length varies (an episode window): only the dtype
    and ``0 <= len <= max_len`` are checked."""

    dtype: Any
    max_len: int


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def write_checkpoint(path: str | os.PathLike[str], meta: dict[str, Any], state: Any) -> Path:
    """Serialise ``state`` (a pytree of arrays) and ``meta`` (JSON-able) to ``path`` atomically."""
    body = msgpack.packb(
        {
            "meta": json.dumps(meta),
            "state": serialization.msgpack_serialize(serialization.to_state_dict(state)),
        },
        use_bin_type=True,
    )
    header = {"format": FORMAT, "version": VERSION, "sha256": _digest(body), "body": body}
    return atomic_write_bytes(path, msgpack.packb(header, use_bin_type=True))


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(meta, state_dict)`` after checking format, version and the body's digest.

    The state is not yet checked against what the meta describes: pass it through
    :func:`verify_state` (``Agent.load`` does) before using it.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        header = msgpack.unpackb(path.read_bytes(), raw=False, strict_map_key=False)
    except Exception as err:  # msgpack raises several types for truncated/garbage input
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated or corrupted: {err})"
        ) from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a policyopt checkpoint")
    version = header.get("version")
    if version != VERSION:
        hint = " (written by an older policyopt; retrain or load it with that version)"
        raise CheckpointError(
            f"{path}: checkpoint format version {version!r}; this policyopt reads {VERSION}"
            + (hint if isinstance(version, int) and version < VERSION else "")
        )
    body, digest = header.get("body"), header.get("sha256")
    if not isinstance(body, bytes) or not isinstance(digest, str):
        raise CheckpointError(f"{path}: corrupted checkpoint header (body or sha256 missing)")
    if _digest(body) != digest:
        raise CheckpointError(
            f"{path}: integrity check failed (sha256 of the contents does not match the "
            "header): the file is corrupted"
        )
    try:
        content = msgpack.unpackb(body, raw=False, strict_map_key=False)
        meta = json.loads(content["meta"])
        state = serialization.msgpack_restore(content["state"])
    except Exception as err:  # only reachable for files written with a matching digest
        raise CheckpointError(f"{path}: corrupted checkpoint contents ({err})") from err
    if not isinstance(meta, dict) or not isinstance(state, dict):
        raise CheckpointError(f"{path}: corrupted checkpoint contents (meta or state not a map)")
    return meta, state


def verify_state(path: str | os.PathLike[str], template: Any, state: dict[str, Any]) -> Any:
    """``template`` with the checkpoint's arrays, after checking every leaf against it.

    Keys must match exactly; array leaves must have the template leaf's shape and dtype
    (:class:`AnyLength` leaves: its dtype and a bounded length); other leaves the same type.
    Raises :class:`CheckpointError` naming the leaf (``state.learner.actor.params...``).
    """
    _check_leaf(Path(path), "state", serialization.to_state_dict(template), state)
    try:
        return serialization.from_state_dict(template, state)
    except (ValueError, KeyError, TypeError) as err:  # unreachable after the checks above
        raise CheckpointError(f"{path}: state does not match its template ({err})") from err


def _check_leaf(path: Path, where: str, expected: Any, got: Any) -> None:
    if isinstance(expected, Mapping):
        if not isinstance(got, Mapping):
            raise CheckpointError(f"{path}: {where}: expected a map, got {type(got).__name__}")
        missing = sorted(str(k) for k in expected.keys() - got.keys())
        extra = sorted(str(k) for k in got.keys() - expected.keys())
        if missing or extra:
            raise CheckpointError(
                f"{path}: {where}: "
                + "; ".join(
                    f"{label} {', '.join(keys)}"
                    for label, keys in (("missing", missing), ("unexpected", extra))
                    if keys
                )
            )
        for key in expected:
            _check_leaf(path, f"{where}.{key}", expected[key], got[key])
        return
    if isinstance(expected, AnyLength):
        ok = isinstance(got, np.ndarray) and got.ndim == 1 and len(got) <= expected.max_len
        if not ok or got.dtype != np.dtype(expected.dtype):
            shape = getattr(got, "shape", None)
            raise CheckpointError(
                f"{path}: {where}: expected a 1-D {np.dtype(expected.dtype)} array of at most "
                f"{expected.max_len} entries, got {type(got).__name__} "
                f"{getattr(got, 'dtype', '')} {shape if shape is not None else ''}".rstrip()
            )
        return
    if hasattr(expected, "shape") and hasattr(expected, "dtype"):
        if not isinstance(got, np.ndarray | np.generic):
            raise CheckpointError(
                f"{path}: {where}: expected a {np.dtype(expected.dtype)} array of shape "
                f"{tuple(expected.shape)}, got {type(got).__name__}"
            )
        if tuple(got.shape) != tuple(expected.shape) or got.dtype != np.dtype(expected.dtype):
            raise CheckpointError(
                f"{path}: {where}: shape {tuple(got.shape)} dtype {got.dtype}, but the meta "
                f"describes shape {tuple(expected.shape)} dtype {np.dtype(expected.dtype)}"
            )
        return
    if type(got) is not type(expected):
        raise CheckpointError(
            f"{path}: {where}: expected {type(expected).__name__}, got {type(got).__name__}"
        )
