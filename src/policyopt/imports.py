"""Importing third-party packages without their unused heavy imports.

Two packages we depend on import, at module level, things policyopt never uses:

* gymnax imports seaborn (and through it scipy.stats and pandas) and matplotlib.pyplot for
  the rendering of two environments: 1.1 s of every compiled run on a 2-core machine, and
  0.4 s more at interpreter exit;
* tensorboardX's writer imports torch whenever torch is installed, only to accept torch
  tensors: 1.9 s of every run that writes TensorBoard events (policyopt passes floats).

:func:`import_gymnax` puts deferred stand-ins for both in ``sys.modules`` (each imports the
real module on its first attribute look-up, so gymnax's rendering and our plots still work).
:func:`import_tensorboardx` hides torch for the duration of that one import when torch is
not already loaded (tensorboardX then falls back to NumPy, which is what we give it); torch
imports normally afterwards.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType

__all__ = ["defer_import", "import_gymnax", "import_tensorboardx"]


class _Deferred(ModuleType):
    """A stand-in for a module that is imported for real on its first attribute look-up.

    (The standard library's ``LazyLoader`` does not defer a plain ``import name`` on Python
    3.11: the import statement itself reads ``__spec__``, which triggers the load.)
    """

    def __init__(self, name: str, spec: ModuleSpec) -> None:
        super().__init__(name)
        # The real spec: ``importlib.util.find_spec(name)`` keeps working for code that probes
        # for the package, and the import statement finds ``_initializing`` unset.
        self.__spec__ = spec

    def __getattr__(self, attr: str) -> object:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        real = importlib.import_module(self.__name__)  # rebinds the parent's attribute too
        return getattr(real, attr)


def defer_import(name: str) -> ModuleType | None:
    """Put a deferred ``name`` into ``sys.modules`` (no-op if loaded or not installed)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    module = _Deferred(name, spec)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:  # ``import a.b; a.b.f()`` reads the attribute of the (really imported) parent
        setattr(importlib.import_module(parent), child, module)
    return module


def import_gymnax() -> ModuleType:
    if "gymnax" not in sys.modules:
        for name in _GYMNAX_RENDERING:
            defer_import(name)
    return importlib.import_module("gymnax")


#: what gymnax's rendering code imports at module level (its Pong and FourRooms envs)
_GYMNAX_RENDERING = ("seaborn", "matplotlib.pyplot")


def import_tensorboardx() -> ModuleType:
    if "tensorboardX" in sys.modules or "torch" in sys.modules:
        return importlib.import_module("tensorboardX")
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` → ImportError
    try:
        return importlib.import_module("tensorboardX")
    finally:
        del sys.modules["torch"]
