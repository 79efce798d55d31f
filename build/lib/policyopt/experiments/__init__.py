"""Experiments: run directories for any environment (compiled or host), resume, evaluation."""

from policyopt.experiments.rundir import RunDirError, RunExistsError, RunLockedError
from policyopt.experiments.training import ResumeMismatchError, RunSpec, resume_run, train_run

__all__ = [
    "ResumeMismatchError",
    "RunDirError",
    "RunExistsError",
    "RunLockedError",
    "RunSpec",
    "resume_run",
    "train_run",
]
