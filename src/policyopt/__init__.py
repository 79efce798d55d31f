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

from policyopt.agent import Agent  # noqa: E402
from policyopt.configs import CONFIGS, hparams, make_config  # noqa: E402
from policyopt.errors import ConfigError  # noqa: E402
from policyopt.experiments import RunSpec, resume_run, train_run  # noqa: E402
from policyopt.faults import (  # noqa: E402
    EnvError,
    EnvTimeoutError,
    NonFiniteError,
    TrainingError,
)
from policyopt.train import make_train, run_train  # noqa: E402

__all__ = [
    "CONFIGS",
    "Agent",
    "ConfigError",
    "EnvError",
    "EnvTimeoutError",
    "NonFiniteError",
    "RunSpec",
    "TrainingError",
    "__version__",
    "hparams",
    "make_config",
    "make_train",
    "resume_run",
    "run_train",
    "train_run",
]
