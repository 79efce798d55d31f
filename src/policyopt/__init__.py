"""policyopt: policy optimization as one optimization problem (see README)."""

__version__ = "0.1.0"
