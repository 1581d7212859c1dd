"""`raftoral demo --simulated`: a Raft cluster under faults in the deterministic simulator,
checking every safety invariant after every step."""

from __future__ import annotations

from rich.console import Console

from raftoral.sim.cli import main as simulate

INTRO = (
    "[bold]Raftoral demo[/] — a {nodes}-node Raft cluster in the deterministic simulator.\n\n"
    "Each run drops, duplicates, delays and reorders messages, partitions nodes and crashes them "
    "(losing unsynced writes), while clients propose; after every step the simulator checks "
    "election safety, log matching, leader completeness, state machine safety and that no "
    "acknowledged proposal is lost, then checks a leader is elected once faults heal."
)


def run_simulated_demo(*, nodes: int, seeds: int) -> int:
    Console().print(INTRO.format(nodes=nodes), highlight=False)
    return simulate(["--seeds", f"1..{seeds}", "--nodes", str(nodes)])
