"""Checkpoints that never execute code on load.

Format (one file, written atomically: temporary file, fsync, ``os.replace``): a msgpack map
``{"format": "policyopt-checkpoint", "version": 1, "meta": <JSON text>, "state": <tree>}``
where ``state`` is a nested map of arrays encoded by ``flax.serialization`` (msgpack ext types
for ndarrays only). ``meta`` holds the library version, recipe, config, env id, counters and
normalisation settings. msgpack decodes data, never objects, so a crafted file cannot run
code; anything malformed raises :class:`CheckpointError`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import msgpack
from flax import serialization

__all__ = ["FORMAT", "VERSION", "CheckpointError", "read_checkpoint", "write_checkpoint"]

FORMAT = "policyopt-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, corrupted or of another format version."""


def write_checkpoint(path: str | os.PathLike[str], meta: dict[str, Any], state: Any) -> Path:
    """Serialise ``state`` (a pytree of arrays) and ``meta`` (JSON-able) to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "meta": json.dumps(meta),
        "state": serialization.msgpack_serialize(serialization.to_state_dict(state)),
    }
    blob = msgpack.packb(payload, use_bin_type=True)
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        tmp.write(blob)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)
    return path


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(meta, state_dict)``; restore arrays into a template with ``from_state_dict``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        payload = msgpack.unpackb(path.read_bytes(), raw=False, strict_map_key=False)
    except Exception as err:  # msgpack raises several types for truncated/garbage input
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated or corrupted: {err})"
        ) from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a policyopt checkpoint")
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {payload.get('version')!r}; "
            f"this policyopt reads {VERSION}"
        )
    try:
        meta = json.loads(payload["meta"])
        state = serialization.msgpack_restore(payload["state"])
    except Exception as err:
        raise CheckpointError(f"{path}: corrupted checkpoint contents ({err})") from err
    return meta, state
