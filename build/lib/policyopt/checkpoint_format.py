"""The checkpoint format's name and version, importable without JAX or flax (``--version``).

Compatibility promise: a policyopt release reads checkpoints of its own format version and
refuses others with a clear ``CheckpointError`` (never a partial or unverified load). The
version changes whenever the layout of the header, the meta or the state tree changes; the
CHANGELOG says when it did.
"""

FORMAT = "policyopt-checkpoint"
CHECKPOINT_VERSION = 2
