"""The one atomic file writer: a file is either its old complete version or its new one.

Every file policyopt writes (checkpoints, run-directory JSON and CSV, figures, videos) goes
through :func:`atomic_path`: the content is written to a temporary file next to the target,
fsynced, renamed over the target with ``os.replace`` (atomic on POSIX and Windows) and the
directory is fsynced so the rename itself survives a power cut. The temporary file is named
``.<name>.policyopt-tmp-<pid>@<host>-<token>[<suffix>]``: recognisable as ours, hidden, and
carrying the writer's pid and a tag of its machine, so a later write into the same directory
removes the temporaries of writers that died mid-write (``kill -9`` during a save) instead of
leaving ``tmpXXXX.tmp`` files forever. Temporaries of live processes, and of other machines
(whose pids say nothing here: NFS, containers), are never touched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "HOST_TAG",
    "TMP_MARKER",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "clean_stale_temporaries",
    "fsync_dir",
    "temp_sibling",
]

TMP_MARKER = ".policyopt-tmp-"
_TMP_RE = re.compile(
    r"^\..+\.policyopt-tmp-(?P<pid>\d+)(@(?P<host>[0-9a-f]{8}))?-[0-9a-f]+(\.[A-Za-z0-9]+)?$"
)
#: This machine's tag in temporary names: a pid only says whether a writer is alive on the
#: machine that wrote it (a directory on NFS or shared by containers has other machines' pids).
HOST_TAG = hashlib.sha1(socket.gethostname().encode("utf-8")).hexdigest()[:8]


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:  # pid out of range and the like: no such writer
        return False
    return True


def clean_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries of dead writers in ``directory``; returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if m is None or (m["host"] not in (None, HOST_TAG)) or _pid_alive(int(m["pid"])):
            continue  # not ours, another machine's (cannot tell if alive), or alive
        with contextlib.suppress(FileNotFoundError):  # another cleaner got there first
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def temp_sibling(path: str | os.PathLike[str], keep_suffix: bool = False) -> Path:
    """A fresh temporary name next to ``path`` that :func:`clean_stale_temporaries` knows."""
    path = Path(path)
    suffix = path.suffix if keep_suffix else ""
    token = f"{os.getpid()}@{HOST_TAG}-{secrets.token_hex(4)}"
    return path.with_name(f".{path.name}{TMP_MARKER}{token}{suffix}")


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    ``keep_suffix`` ends the temporary name with ``path``'s suffix, for writers that choose
    the format from the extension (Pillow, imageio, Matplotlib). If the body raises, the
    temporary is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(path.parent)
    tmp = temp_sibling(path, keep_suffix)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "xb") as f:
        f.write(data)
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, newlines as given) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))
