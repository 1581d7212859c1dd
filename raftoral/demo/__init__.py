"""The demo shipped with the package, so `raftoral demo` works from any directory: a local
cluster of node processes through a failover (live.py), or the simulator (simulated.py)."""
