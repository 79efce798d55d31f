"""Which ids gymnax knows, without importing gymnax (and with it JAX): a cached look-up.

Deciding whether ``policyopt train ALGO ENV`` trains compiled (a gymnax id) or on the host
used to import gymnax, about 1.5 s of a CLI run that may never touch JAX. gymnax lists its
built-in ids as a literal in ``gymnax/registration.py``; reading that literal with ``ast``
costs milliseconds. Once gymnax is imported (it may have runtime registrations) its own list
is used, and if the file ever stops holding a literal we fall back to importing it.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import sys
from pathlib import Path
from typing import Any, cast

__all__ = ["gymnax_ids", "is_gymnax_id"]


@functools.cache
def _builtin_ids() -> frozenset[str] | None:
    spec = importlib.util.find_spec("gymnax")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / "registration.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "_BUILTIN_ENV_IDS":
            try:
                ids = ast.literal_eval(cast(Any, node).value)
            except ValueError:
                return None
            return frozenset(str(i) for i in ids)
    return None


def gymnax_ids() -> frozenset[str]:
    """Every id gymnax can make (runtime registrations included once gymnax is imported)."""
    if "gymnax" not in sys.modules:
        ids = _builtin_ids()
        if ids is not None:
            return ids
    import gymnax

    return frozenset(gymnax.registered_envs)


def is_gymnax_id(env_id: str) -> bool:
    return env_id in gymnax_ids()
