"""Experiments: run directories for any environment (compiled or host), resume, evaluation."""

from policyopt.experiments.training import RunSpec, resume_run, train_run

__all__ = ["RunSpec", "resume_run", "train_run"]
