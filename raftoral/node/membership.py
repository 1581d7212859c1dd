"""The group's view of its members for people and for the bus: member listings, the address
book (peers to connect, addresses the leader records), learner promotion and the transferee."""

from __future__ import annotations

from actors import Bus
from raftoral.raft.core import RaftCore
from raftoral.raft.types import ConfChange, ConfChangeType, Role
from raftoral.wire import MemberInfo


def members(core: RaftCore, known: dict[int, str], me: int) -> tuple[MemberInfo, ...]:
    """Every voter and learner with its address and match index (-1: unknown here)."""
    status = core.status()
    progress = {node: pr.match for node, pr in status.progress.items()}
    if status.role == Role.LEADER:
        progress[me] = status.last_index
    roles = [(n, "voter") for n in status.conf.voters]
    roles += [(n, "learner") for n in status.conf.learners]
    return tuple(
        MemberInfo(node, known.get(node, ""), role, progress.get(node, -1)) for node, role in roles
    )


def known_addresses(bus: Bus, book: dict[int, str], listen: str) -> dict[int, str]:
    known = {**bus.peers, **book}
    known[bus.node_id] = listen
    return known


def sync_peers(bus: Bus, book: dict[int, str]) -> None:
    """Connect to every member of the address book (reconnecting when an address moved)."""
    peers, me = bus.peers, bus.node_id
    for node, address in book.items():
        if node != me and peers.get(node) != address:
            bus.add_peer(node, address)


def missing_addresses(
    core: RaftCore, book: dict[int, str], known: dict[int, str]
) -> dict[int, str]:
    """The addresses known here of members missing from the book (the bootstrap node itself,
    --peers members): the leader records them."""
    conf = core.conf
    return {
        node: known[node]
        for node in (*conf.voters, *conf.learners)
        if node not in book and node in known
    }


def promotion(core: RaftCore, max_voters: int) -> ConfChange | None:
    """On the leader: the next learner to promote (caught up to the commit index), if any."""
    status = core.status()
    conf = status.conf
    if len(conf.voters) >= max_voters or status.lead_transferee:
        return None
    for learner in conf.learners:
        progress = status.progress.get(learner)
        if progress is not None and progress.match >= status.commit:
            return ConfChange(ConfChangeType.ADD_VOTER, learner)
    return None


def best_transferee(core: RaftCore, me: int) -> int:
    """The most up-to-date other voter (0: none)."""
    status = core.status()
    others = [n for n in status.conf.voters if n != me]
    if not others:
        return 0
    return max(others, key=lambda n: status.progress[n].match if n in status.progress else -1)
