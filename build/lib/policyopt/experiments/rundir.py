"""Run directories are written by one process at a time, and never mixed.

* :func:`lock_run_dir` takes an exclusive ``fcntl.flock`` on ``<run>/.lock`` (which records
  the holder's pid, host and command): a second writer gets :class:`RunLockedError` naming
  the holder instead of interleaving its spec, metrics and checkpoints with the first's. The
  kernel drops the lock when the holder exits, however it dies, so a lock is never stale.
* :func:`prepare_run_dir` refuses a directory that already holds a run unless the caller
  resumes it or asked to overwrite it, and overwriting clears it first, so stale
  ``seed_k.ckpt`` files of an earlier run under the same name never reach ``policyopt eval``.
* :func:`read_json` names the file when a spec or config is unreadable.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; run directories are then unguarded
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK_NAME",
    "RUN_MARKERS",
    "RunDirError",
    "RunExistsError",
    "RunLockedError",
    "lock_run_dir",
    "prepare_run_dir",
    "read_json",
]

LOCK_NAME = ".lock"
#: entries that make a directory a policyopt run directory
RUN_MARKERS = ("spec.json", "config.json", "summary.json", "metrics.csv", "checkpoints")


class RunDirError(ValueError):
    """A run directory cannot be used as asked (the message says why and what to do)."""


class RunLockedError(RunDirError):
    """Another live process is writing this run directory."""


class RunExistsError(RunDirError):
    """The run name is taken and neither resume nor overwrite was asked for."""


def read_json(path: str | os.PathLike[str]) -> Any:
    """``path``'s JSON, or :class:`RunDirError` naming the file (missing, unreadable, corrupt)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunDirError(f"{path}: not readable JSON (corrupted?): {err}") from err


def _holder(fd: int) -> str:
    """Who holds the lock, from the lock file (retried briefly: the holder writes it right
    after locking)."""
    for _ in range(20):
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(os.pread(fd, 65536, 0).decode("utf-8"))
            here = info.get("host") == socket.gethostname()
            where = "" if here else f" on {info.get('host')}"
            return f"pid {info.get('pid')}{where} ({info.get('command')})"
        time.sleep(0.05)
    return "another process (pid unknown)"


@contextlib.contextmanager
def lock_run_dir(run_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the exclusive writer lock of ``run_dir`` (created if needed) for the block."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:
        yield run_dir
        return
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(
                f"{run_dir} is being written by {_holder(fd)}; wait for it to finish "
                "or stop it, or pick another --name"
            ) from None
        except OSError as err:  # a filesystem without locks (some network mounts)
            raise RunDirError(f"{run_dir}: cannot lock {LOCK_NAME} ({err})") from err
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
            "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        try:
            yield run_dir
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _entries(run_dir: Path) -> list[Path]:
    return sorted(p for p in run_dir.iterdir() if p.name != LOCK_NAME) if run_dir.is_dir() else []


def prepare_run_dir(run_dir: str | os.PathLike[str], resume: bool, overwrite: bool) -> None:
    """Make ``run_dir`` ready for a writer that holds its lock.

    A directory with nothing in it (or only the lock file) is used as is. One that holds a run
    is kept for ``resume``, cleared for ``overwrite`` and otherwise refused
    (:class:`RunExistsError`). A non-empty directory that is not a run directory is refused
    even with ``overwrite``: policyopt never deletes files it did not write.
    """
    run_dir = Path(run_dir)
    if resume and overwrite:
        raise RunDirError(f"{run_dir}: resume and overwrite exclude each other; pick one")
    entries = _entries(run_dir)
    if not entries:
        return
    if not any((run_dir / m).exists() for m in RUN_MARKERS):
        raise RunExistsError(
            f"{run_dir} exists and is not a policyopt run directory "
            f"({', '.join(p.name for p in entries[:5])}{', …' if len(entries) > 5 else ''}); "
            "refusing to write into it; pick another --name"
        )
    if resume:
        return
    if not overwrite:
        raise RunExistsError(
            f"{run_dir} already holds a run; continue it with --resume {run_dir} "
            "(resume=True) or replace it with --overwrite (overwrite=True)"
        )
    for p in entries:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
