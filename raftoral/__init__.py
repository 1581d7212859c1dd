"""Raftoral: durable workflow orchestration embedded in your own services, replicated with Raft."""

from raftoral.errors import RaftoralError

__version__ = "0.1.0"

__all__ = ["RaftoralError", "__version__"]
