"""policyopt: policy optimization as one optimization problem (see README)."""

import os as _os

# XLA:CPU (jaxlib 0.10.x) intermittently deadlocks on the vmapped, scan-heavy programs this
# library compiles: block_until_ready never returns and every pool thread waits for work.
# Measured here (2 cores, PPO on CartPole, 2 vmapped seeds, 60 s timeout per run): 3/6 runs hung
# with default flags, 1/6 with --xla_cpu_multi_thread_eigen=false alone (the fix reported in
# PyAutoLabs/PyAutoFit#1528), 0/8 with the concurrency-optimised scheduler also off, at the same
# throughput. Both flags only affect the CPU backend and must be set before it starts; opt out
# with POLICYOPT_KEEP_XLA_FLAGS=1.
_SAFE_CPU_FLAGS = (
    "--xla_cpu_multi_thread_eigen=false",
    "--xla_cpu_enable_concurrency_optimized_scheduler=false",
)
if not _os.environ.get("POLICYOPT_KEEP_XLA_FLAGS"):
    _flags = _os.environ.get("XLA_FLAGS", "")
    for _flag in _SAFE_CPU_FLAGS:
        if _flag.split("=")[0] not in _flags:
            _flags = f"{_flags} {_flag}".strip()
    _os.environ["XLA_FLAGS"] = _flags

__version__ = "0.1.0"

# The public API is loaded on first use (PEP 562), so ``import policyopt`` and the CLI's
# ``--help`` do not pay for JAX, Gymnasium, EnvPool, matplotlib, TensorBoard, Ray or torch;
# each is imported by the command or object that needs it.
_LAZY = {
    "Agent": "policyopt.agent",
    "learn_together": "policyopt.agent",
    "CONFIGS": "policyopt.configs",
    "ComposedConfig": "policyopt.configs",
    "Composition": "policyopt.composition",
    "compose": "policyopt.configs",
    "hparams": "policyopt.configs",
    "make_config": "policyopt.configs",
    "ConfigError": "policyopt.errors",
    "RunSpec": "policyopt.experiments",
    "resume_run": "policyopt.experiments",
    "train_run": "policyopt.experiments",
    "EnvError": "policyopt.faults",
    "EnvTimeoutError": "policyopt.faults",
    "NonFiniteError": "policyopt.faults",
    "TrainingError": "policyopt.faults",
    "make_train": "policyopt.train",
    "run_train": "policyopt.train",
}

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'policyopt' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
