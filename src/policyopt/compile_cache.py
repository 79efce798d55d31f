"""JAX's persistent compilation cache, on by default for every entry point of policyopt.

A compiled training program takes seconds to build with XLA and milliseconds to load from
disk. JAX keys each cache entry on the program's HLO, the JAX/jaxlib versions, the backend
and the compile options, so a change of config (static fields change the HLO), of
policyopt's code (its traced functions are the HLO) or of JAX never serves a stale program.

Where: ``$POLICYOPT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/policyopt/jax`` (default
``~/.cache/policyopt/jax``). ``POLICYOPT_CACHE_DIR=off`` (or ``0``, ``none``, empty)
disables it. A cache directory the user configured for JAX already
(``jax_compilation_cache_dir``) is respected and left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CacheCounter", "cache_dir", "enable_compilation_cache"]

_DISABLED = {"", "0", "off", "none", "false", "no"}
_enabled: Path | None = None


def cache_dir() -> Path | None:
    """The cache directory the environment asks for, or None when disabled."""
    raw = os.environ.get("POLICYOPT_CACHE_DIR")
    if raw is not None:
        return None if raw.strip().lower() in _DISABLED else Path(raw).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "policyopt" / "jax"


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> Path | None:
    """Point JAX's persistent cache at ``path`` (default :func:`cache_dir`); idempotent.

    Every program is cached, however fast it compiled (JAX's default skips those under 1 s,
    which are most of ours and add up on a CLI run). Returns the directory in use, or None
    when disabled or unwritable (a read-only home must not stop training).
    """
    global _enabled
    import jax

    configured = jax.config.jax_compilation_cache_dir  # type: ignore[attr-defined]
    if configured and (_enabled is None or Path(configured) != _enabled):
        return Path(configured)  # the user's own choice
    target = Path(path) if path is not None else cache_dir()
    if target is None:
        return None
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(target))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    _enabled = target
    return target


class CacheCounter:
    """Counts persistent-cache hits and misses from JAX's monitoring events (for tests and
    benchmarks: a behaviour, not a timing)."""

    def __init__(self) -> None:
        from jax import monitoring

        self.hits = 0
        self.misses = 0
        monitoring.register_event_listener(self._on_event)

    def _on_event(self, event: str, **_: object) -> None:
        if event == "/jax/compilation_cache/cache_hits":
            self.hits += 1
        elif event == "/jax/compilation_cache/cache_misses":
            self.misses += 1
