"""Test harness for the pure core: cores over MemoryStorage and a tiny in-order message network.

Drives Readies exactly as the contract says (send, persist, send after-persist, apply, advance)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import msgspec

from raftoral.raft.config import RaftConfig
from raftoral.raft.core import RaftCore
from raftoral.raft.types import ConfState, Entry, HardState, Message, MsgType, Ready, Role
from raftoral.storage.memory import MemoryStorage


class FixedRng:
    """Election timeouts of exactly election_tick + extra (deterministic tests)."""

    def __init__(self, extra: int = 0) -> None:
        self.extra = extra

    def randrange(self, start: int, stop: int) -> int:
        return min(start + self.extra, stop - 1)


def new_storage(voters: Iterable[int]) -> MemoryStorage:
    storage = MemoryStorage()
    storage.bootstrap(ConfState(voters=tuple(voters)))
    return storage


def storage_with_log(
    voters: Iterable[int], terms: Iterable[int], term: int = 0, vote: int = 0, commit: int = 0
) -> MemoryStorage:
    """A bootstrapped storage holding entries 1.. with the given terms, and a hard state."""
    storage = new_storage(voters)
    entries = [Entry(t, i, data=b"%d.%d" % (t, i)) for i, t in enumerate(terms, start=1)]
    last_term = entries[-1].term if entries else 0
    storage.save(HardState(max(term, last_term), vote, commit), entries)
    return storage


def new_core(
    node_id: int,
    voters: Iterable[int] = (1, 2, 3),
    storage: MemoryStorage | None = None,
    rng_extra: int = 0,
    applied: int = 0,
    core_class: type[RaftCore] = RaftCore,
    **cfg: object,
) -> RaftCore:
    options: dict[str, object] = {"pre_vote": False, "check_quorum": False, **cfg}
    config = RaftConfig(node_id=node_id, **options)  # type: ignore[arg-type]
    storage = storage or new_storage(voters)
    return core_class(config, storage, FixedRng(rng_extra), applied=applied)


def save_ready(storage: MemoryStorage, rd: Ready) -> None:
    """Step 2 and 3 of the Ready contract: stage the snapshot chunks, then one save()."""
    for chunk in rd.snapshot_chunks:
        storage.stage_snapshot_chunk(chunk)
    storage.save(rd.hard_state, rd.entries, rd.snapshot, sync=rd.must_sync)


def encode_state(entries: list[Entry]) -> bytes:
    """The test state machine's snapshot: its applied entries."""
    return msgspec.msgpack.encode(entries)


def decode_state(data: bytes) -> list[Entry]:
    return msgspec.msgpack.decode(data, type=list[Entry]) if data else []


def persist(core: RaftCore, storage: MemoryStorage) -> tuple[Ready, list[Message]]:
    """Take one Ready, persist it, advance; returns it and all its messages in send order."""
    rd = core.ready()
    save_ready(storage, rd)
    core.advance(rd)
    return rd, [*rd.messages, *rd.messages_after_persist]


def drain(core: RaftCore) -> list[Message]:
    """Persist every pending Ready of a core's own storage; all messages produced."""
    out: list[Message] = []
    storage = core._log.storage
    assert isinstance(storage, MemoryStorage)
    while core.has_ready():
        out.extend(persist(core, storage)[1])
    return out


def win_election(core: RaftCore) -> list[Message]:
    """Campaign and feed the core a grant from every peer; the messages of its first term."""
    core.campaign()
    for _ in range(3):
        msgs = drain(core)
        if core.role == Role.LEADER:
            return msgs
        for m in msgs:
            if m.type in (MsgType.VOTE, MsgType.PRE_VOTE):
                kind = MsgType.VOTE_RESP if m.type == MsgType.VOTE else MsgType.PRE_VOTE_RESP
                core.step(Message(kind, core.id, m.to, m.term))
    raise AssertionError(f"node {core.id} did not win: {core.role.name}")


def of_type(msgs: Iterable[Message], kind: MsgType) -> list[Message]:
    return [m for m in msgs if m.type == kind]


class Network:
    """Cores wired by an in-order queue; links can be cut. Applied entries are recorded."""

    def __init__(
        self,
        ids: Iterable[int] = (1, 2, 3),
        storages: dict[int, MemoryStorage] | None = None,
        **cfg: object,
    ) -> None:
        ids = tuple(ids)
        self.storages = {i: new_storage(ids) for i in ids}
        self.storages.update(storages or {})
        self.cores = {
            i: new_core(i, ids, self.storages[i], rng_extra=k, **cfg) for k, i in enumerate(ids)
        }
        self.queue: deque[Message] = deque()
        self.cut: set[tuple[int, int]] = set()
        self.drop: Callable[[Message], bool] = lambda m: False
        self.applied: dict[int, list[Entry]] = {i: [] for i in ids}
        self.readies: dict[int, list[Ready]] = {i: [] for i in ids}
        self.sent: list[Message] = []
        self.cfg = cfg

    def cut_between(self, a: int, b: int) -> None:
        self.cut |= {(a, b), (b, a)}

    def isolate(self, node: int) -> None:
        for other in self.cores:
            if other != node:
                self.cut |= {(node, other), (other, node)}

    def heal(self) -> None:
        self.cut.clear()

    def send(self, msgs: Iterable[Message]) -> None:
        for m in msgs:
            self.sent.append(m)
            if (m.sender, m.to) not in self.cut and not self.drop(m):
                self.queue.append(m)

    def log_terms(self, node: int) -> list[int]:
        core = self.cores[node]
        return [core.log_term(i) for i in range(1, core.last_index + 1)]

    def process(self, node: int) -> None:
        core, storage = self.cores[node], self.storages[node]
        while core.has_ready():
            rd = core.ready()
            self.readies[node].append(rd)
            self.send(rd.messages)
            save_ready(storage, rd)
            self.send(rd.messages_after_persist)
            if rd.snapshot is not None:
                self.applied[node] = decode_state(storage.snapshot().data)
            self.applied[node].extend(rd.committed_entries)
            core.advance(rd)

    def compact(self, node: int) -> int:
        """Snapshot node's state machine at its applied index and compact its log there."""
        core = self.cores[node]
        index = core.applied_index
        applied = [e for e in self.applied[node] if e.index <= index]
        self.storages[node].compact(index, encode_state(applied), core.conf_at(index))
        return index

    def add_node(self, node: int, **cfg: object) -> RaftCore:
        """A new node with an empty storage (not bootstrapped), wired into the network."""
        self.storages[node] = MemoryStorage()
        self.cores[node] = new_core(node, (), self.storages[node], **{**self.cfg, **cfg})
        self.applied[node] = []
        self.readies[node] = []
        return self.cores[node]

    def restart(self, node: int) -> RaftCore:
        """Crash (losing unsynced writes) and rebuild the core from storage; the state machine
        is rebuilt from the snapshot (the committed log is re-applied through Readies)."""
        storage = self.storages[node]
        storage.crash()
        self.cores[node] = new_core(node, (), storage, rng_extra=node, **self.cfg)
        self.applied[node] = decode_state(storage.snapshot().data)
        return self.cores[node]

    def run(self, rounds: int) -> bool:
        """Up to `rounds` rounds of (process every node, deliver the queue); True once quiet."""
        for _ in range(rounds):
            for node in self.cores:
                self.process(node)
            if not self.queue:
                return True
            while self.queue:
                m = self.queue.popleft()
                self.cores[m.to].step(m)
        return False

    def stabilize(self, max_rounds: int = 10_000) -> None:
        if not self.run(max_rounds):
            raise AssertionError("network did not stabilize")

    def tick(self, node: int, n: int = 1) -> None:
        for _ in range(n):
            self.cores[node].tick()
            self.stabilize()

    def tick_all(self, n: int = 1) -> None:
        for _ in range(n):
            for core in self.cores.values():
                core.tick()
            self.stabilize()

    def elect(self, node: int) -> RaftCore:
        self.cores[node].campaign()
        self.stabilize()
        return self.cores[node]

    def data_applied(self, node: int) -> list[bytes]:
        return [e.data for e in self.applied[node] if e.data]
