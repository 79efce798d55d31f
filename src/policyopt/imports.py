"""Importing third-party packages without their unused heavy imports.

Two packages we depend on import, at module level, things policyopt never uses:

* gymnax imports seaborn (and through it scipy.stats and pandas), matplotlib.pyplot and
  matplotlib.colors for the rendering of a few environments: 1.1 s of every compiled run on a
  2-core machine, and 0.4 s more at interpreter exit;
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
import importlib.machinery
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
        if spec.submodule_search_locations is not None:  # a package: ``from pkg import sub``
            self.__path__ = list(spec.submodule_search_locations)  # finds deferred ``sub``

    def __getattr__(self, attr: str) -> object:
        return getattr(self._load(), attr)

    def _load(self) -> ModuleType:
        """Import the real module (a deferred parent package first, then this one) and
        return it; deferred submodules stay reachable as ``pkg.sub``."""
        parent = sys.modules.get(self.__name__.rpartition(".")[0])
        if isinstance(parent, _Deferred):
            parent._load()  # its __init__ may import this module: never run it half-loaded
        children = {k: v for k, v in vars(self).items() if isinstance(v, _Deferred)}
        for module in (self, *children.values()):  # a package loads its submodules for real
            if sys.modules.get(module.__name__) is module:
                del sys.modules[module.__name__]
        real = importlib.import_module(self.__name__)  # rebinds the parent's attribute too
        for name, child in children.items():
            if not hasattr(real, name):
                setattr(real, name, child)
        return real


def defer_import(name: str) -> ModuleType | None:
    """Put a deferred ``name`` into ``sys.modules`` (no-op if loaded or not installed)."""
    if name in sys.modules:
        return sys.modules[name]
    parent, _, child = name.rpartition(".")
    loaded_parent = sys.modules.get(parent) if parent else None
    parent_spec = getattr(loaded_parent, "__spec__", None)
    if isinstance(loaded_parent, _Deferred) and parent_spec is not None:
        # found without loading the (deferred) parent package
        locations = parent_spec.submodule_search_locations
        spec = importlib.machinery.PathFinder.find_spec(name, locations)
    else:
        spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    module = _Deferred(name, spec)
    sys.modules[name] = module
    if parent:  # ``import a.b; a.b.f()`` reads the attribute of the parent
        setattr(loaded_parent or importlib.import_module(parent), child, module)
    return module


def import_gymnax() -> ModuleType:
    if "gymnax" not in sys.modules:
        for name in _GYMNAX_RENDERING:
            defer_import(name)
    return importlib.import_module("gymnax")


#: what gymnax's rendering code imports at module level (its Pong and FourRooms envs)
#: (matplotlib itself too: deferring only pyplot imported its parent, 0.15 s of every
#: compiled run before training starts; the outputs thread imports it while XLA trains)
_GYMNAX_RENDERING = ("seaborn", "matplotlib", "matplotlib.pyplot", "matplotlib.colors")


def import_tensorboardx() -> ModuleType:
    if "tensorboardX" in sys.modules or "torch" in sys.modules:
        return importlib.import_module("tensorboardX")
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` → ImportError
    try:
        return importlib.import_module("tensorboardX")
    finally:
        del sys.modules["torch"]
