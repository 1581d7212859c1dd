"""Seeded deterministic simulator: whole Raft clusters on a virtual clock, with injected faults
and the Raft invariants checked after every step (`python -m raftoral.sim`, docs/simulator.md)."""
