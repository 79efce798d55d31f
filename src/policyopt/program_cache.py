"""Traced training programs kept on disk, so a second run of the same config skips the trace.

JAX's persistent compilation cache (:mod:`policyopt.compile_cache`) skips XLA's compilation,
but its key is computed from the lowered program, so every process still traces and lowers
the whole training loop first: about 1.5 s of a 6 s CLI run on CartPole. This module stores
the lowered program itself (``jax.export``'s portable StableHLO, a few hundred kB) under a key
made of everything the trace depends on, and a later process deserialises it (0.1–0.3 s)
instead of tracing; XLA then finds the compiled executable in the compilation cache.

The key (:func:`program_key`) hashes the caller's description of the program (the config's
``repr`` with every field, the number of seeds, flags), the source of every module of the
installed ``policyopt`` package, the versions of the libraries that are traced (JAX, jaxlib,
flax, optax, gymnax, NumPy), JAX's numerics flags and the backend. Any change of config,
code or library is a different key; nothing is ever served stale.

What is stored is a program, never Python objects: no pickle. Each entry is two files,
``KEY.exported`` and ``KEY.json`` (SHA-256 of the program, its output layout); both are written
atomically, and an entry whose hash or layout does not check out is ignored and rewritten.
Programs with host callbacks (``jax.debug.callback``: live logging) cannot be exported and are
simply not cached. The directory is ``programs/`` inside the compilation cache's and follows
``POLICYOPT_CACHE_DIR`` (``off`` disables both); :func:`clear` empties it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policyopt.atomic import atomic_write_bytes, atomic_write_text
from policyopt.compile_cache import cache_dir

__all__ = ["CachedProgram", "ProgramCacheStats", "load_program", "program_key", "store_program"]

FORMAT = 1  # bump when the entry layout changes


@dataclass
class ProgramCacheStats:
    """Hits, misses and stores of this process (for tests and benchmarks: a behaviour)."""

    hits: int = 0
    misses: int = 0
    stores: int = 0


STATS = ProgramCacheStats()


@functools.cache
def _source_digest() -> str:
    """SHA-256 over the path and bytes of every module of the installed package."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("jax", "jaxlib", "flax", "optax", "gymnax", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "-"
    return out


def program_key(description: dict[str, Any]) -> str:
    """Hex key of a program described by ``description`` (JSON-able; reprs for objects).

    Adds the package source digest, library versions, JAX's numerics flags and the backend.
    """
    import jax

    from policyopt import __version__

    flags = {
        name: str(getattr(jax.config, name, None))
        for name in ("jax_enable_x64", "jax_default_matmul_precision", "jax_default_prng_impl")
    }
    payload = {
        "format": FORMAT,
        "program": description,
        "policyopt": __version__,
        "source": _source_digest(),
        "versions": _versions(),
        "flags": flags,
        "backend": jax.default_backend(),
        "device": jax.devices()[0].device_kind,
    }
    text = json.dumps(payload, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def programs_dir() -> Path | None:
    """``<cache dir>/programs``, or None when the cache is disabled."""
    base = cache_dir()
    return None if base is None else base / "programs"


@dataclass(frozen=True)
class CachedProgram:
    """A deserialised program: ``call(*flat_args) -> list of output leaves``, the abstract
    values it returns (``out_avals``: shapes and dtypes, checked by the caller against what it
    expects) and the caller's ``layout``."""

    call: Callable[..., Any]
    out_avals: tuple[Any, ...]
    layout: dict[str, Any]


def store_program(
    key: str,
    fn: Callable[..., Sequence[Any]],
    args: Sequence[Any],
    layout: dict[str, Any],
) -> CachedProgram | None:
    """Export ``fn`` (arrays in, a list of arrays out) at ``args``, write it under ``key`` and
    return it, so the caller runs exactly the program a later process will load.

    ``layout`` is JSON the caller needs to rebuild its outputs (names, structure); it is
    stored beside the program and handed back by :func:`load_program`. Returns None (and
    stores nothing) when the cache is disabled or the program cannot be exported (a host
    callback); the caller then traces as usual. A cache directory that cannot be written still
    returns the program.
    """
    directory = programs_dir()
    if directory is None:
        return None
    import jax
    from jax import export

    try:
        exported = export.export(jax.jit(fn))(*args)
        data = bytes(exported.serialize())
    except Exception as err:
        warnings.warn(f"program cache: not storing {key[:12]}: {err}", stacklevel=2)
        return None
    program = CachedProgram(exported.call, tuple(exported.out_avals), layout)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(directory / f"{key}.exported", data)
        meta = {"format": FORMAT, "sha256": hashlib.sha256(data).hexdigest(), "layout": layout}
        atomic_write_text(directory / f"{key}.json", json.dumps(meta, sort_keys=True) + "\n")
    except OSError:
        return program  # a read-only cache must not stop training
    STATS.stores += 1
    return program


def load_program(
    key: str, accept: Callable[[CachedProgram], bool] | None = None
) -> CachedProgram | None:
    """The program stored under ``key``, verified against its recorded SHA-256 and, when
    given, by the caller's ``accept`` (does it return what this code expects?), or None."""
    directory = programs_dir()
    if directory is None:
        return None
    meta_path, data_path = directory / f"{key}.json", directory / f"{key}.exported"
    try:
        meta = json.loads(meta_path.read_text())
        data = data_path.read_bytes()
    except (OSError, ValueError):
        STATS.misses += 1
        return None
    if (
        not isinstance(meta, dict)
        or meta.get("format") != FORMAT
        or meta.get("sha256") != hashlib.sha256(data).hexdigest()
        or not isinstance(meta.get("layout"), dict)
    ):
        STATS.misses += 1
        return None
    from jax import export

    try:
        exported = export.deserialize(bytearray(data))
    except Exception:
        STATS.misses += 1
        return None
    program = CachedProgram(exported.call, tuple(exported.out_avals), meta["layout"])
    if accept is not None and not accept(program):
        STATS.misses += 1
        return None
    STATS.hits += 1
    return program


def clear() -> int:
    """Delete every stored program; returns how many entries were removed."""
    directory = programs_dir()
    if directory is None or not directory.exists():
        return 0
    n = 0
    for path in directory.iterdir():
        if path.suffix in (".exported", ".json"):
            path.unlink(missing_ok=True)
            n += path.suffix == ".exported"
    return n
