"""policyopt: policy optimization as one optimization problem (see README)."""

import os as _os

# XLA:CPU's multi-threaded Eigen pool can wedge (block_until_ready never returns, 0% CPU) on the
# vmapped, scan-heavy programs this library compiles; seen here on 2-core machines and reported
# upstream (e.g. PyAutoLabs/PyAutoFit#1528). Single-threaded Eigen avoids it. The flag only
# affects the CPU backend and must be set before the backend starts; opt out with
# POLICYOPT_KEEP_XLA_FLAGS=1.
if not _os.environ.get("POLICYOPT_KEEP_XLA_FLAGS"):
    _flags = _os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in _flags:
        _os.environ["XLA_FLAGS"] = f"{_flags} --xla_cpu_multi_thread_eigen=false".strip()

__version__ = "0.1.0"
