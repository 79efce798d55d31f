"""Importing third-party packages without their unused heavy imports.

Two packages we depend on import, at module level, things policyopt never uses:

* gymnax imports seaborn (and through it scipy.stats and pandas) for the rendering of one
  environment: 0.7 s of every compiled run on a 2-core machine;
* tensorboardX's writer imports torch whenever torch is installed, only to accept torch
  tensors: 1.9 s of every run that writes TensorBoard events (policyopt passes floats).

:func:`import_gymnax` registers seaborn with :class:`importlib.util.LazyLoader` (the
standard library's deferred import: the module loads for real on first attribute access,
so gymnax's rendering still works). :func:`import_tensorboardx` hides torch for the
duration of that one import when torch is not already loaded (tensorboardX then falls back
to NumPy, which is what we give it); torch imports normally afterwards.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

__all__ = ["import_gymnax", "import_tensorboardx", "lazy_module"]


def lazy_module(name: str) -> ModuleType | None:
    """Put a lazily loaded ``name`` into ``sys.modules`` (no-op if loaded or absent)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return None
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def import_gymnax() -> ModuleType:
    if "gymnax" not in sys.modules:
        lazy_module("seaborn")
    return importlib.import_module("gymnax")


def import_tensorboardx() -> ModuleType:
    if "tensorboardX" in sys.modules or "torch" in sys.modules:
        return importlib.import_module("tensorboardX")
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` → ImportError
    try:
        return importlib.import_module("tensorboardX")
    finally:
        del sys.modules["torch"]
