"""Flow control: Progress states (probe / replicate) and the Inflights window, alone and as the
leader uses them (pipelining, pausing a probe until an answer, recovering lost appends)."""

from __future__ import annotations

import pytest

from raftoral.raft.core import RaftCore
from raftoral.raft.progress import Inflights, Progress, ProgressState
from raftoral.raft.types import Message, MsgType
from tests.unit.raft.helpers import drain, new_core, of_type, win_election


def test_inflights_window() -> None:
    inf = Inflights(3)
    for i in (5, 7, 9):
        inf.add(i)
    assert inf.full() and len(inf) == 3
    with pytest.raises(OverflowError):
        inf.add(10)
    inf.free_le(6)
    assert len(inf) == 2 and not inf.full()
    inf.free_le(4)
    assert len(inf) == 2
    inf.free_first_one()
    assert len(inf) == 1
    inf.free_le(100)
    assert len(inf) == 0
    inf.free_first_one()
    assert len(inf) == 0


def test_progress_maybe_update() -> None:
    pr = Progress(match=3, next_index=5, max_inflight=4)
    assert not pr.maybe_update(2)
    assert not pr.maybe_update(3)
    assert pr.maybe_update(4) and (pr.match, pr.next) == (4, 5)
    assert pr.maybe_update(8) and (pr.match, pr.next) == (8, 9)


@pytest.mark.parametrize(
    ("state", "match", "next_index", "rejected", "hint", "ok", "want_next"),
    [
        # replicate: stale if rejected <= match, else back to match + 1
        (ProgressState.REPLICATE, 5, 10, 5, 5, False, 10),
        (ProgressState.REPLICATE, 5, 10, 4, 4, False, 10),
        (ProgressState.REPLICATE, 5, 10, 9, 9, True, 6),
        # probe: stale unless rejected == next - 1; then min(rejected, hint + 1), >= match + 1
        (ProgressState.PROBE, 0, 10, 8, 8, False, 10),
        (ProgressState.PROBE, 0, 10, 9, 9, True, 9),
        (ProgressState.PROBE, 0, 10, 9, 3, True, 4),
        (ProgressState.PROBE, 5, 10, 9, 2, True, 6),
        (ProgressState.PROBE, 0, 1, 0, 0, True, 1),
    ],
)
def test_progress_maybe_decr_to(
    state: ProgressState,
    match: int,
    next_index: int,
    rejected: int,
    hint: int,
    ok: bool,
    want_next: int,
) -> None:
    pr = Progress(match, next_index, 4)
    pr.state = state
    pr.probe_sent = True
    assert pr.maybe_decr_to(rejected, hint) is ok
    assert pr.next == want_next
    if ok and state == ProgressState.PROBE:
        assert not pr.probe_sent


def test_probe_pauses_after_one_message_replicate_pauses_when_window_full() -> None:
    pr = Progress(0, 1, 2)
    assert not pr.is_paused()
    pr.sent_entries(3)
    assert pr.is_paused() and pr.next == 1  # probe: next does not move
    pr.maybe_update(3)
    pr.become_replicate()
    assert (pr.next, pr.is_paused()) == (4, False)
    pr.sent_entries(2)
    pr.sent_entries(2)
    assert (pr.next, len(pr.inflights), pr.is_paused()) == (8, 2, True)
    pr.sent_entries(0)  # an empty append takes no slot
    assert len(pr.inflights) == 2
    pr.become_probe()
    assert (pr.next, len(pr.inflights), pr.is_paused()) == (4, 0, False)


def leader_with_window(window: int) -> RaftCore:
    core = new_core(1, max_inflight_msgs=window, max_size_per_msg=1)
    win_election(core)
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=1))  # 2 -> replicate
    drain(core)
    return core


def test_replicate_pipelines_up_to_the_window() -> None:
    core = leader_with_window(3)
    core.propose_batch([b"aa"] * 5)  # one entry per message (max_size_per_msg=1)
    to2 = [m for m in of_type(drain(core), MsgType.APP) if m.to == 2]
    assert [(m.index, len(m.entries)) for m in to2] == [(1, 1), (2, 1), (3, 1)]
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=3))  # frees two slots
    to2 = [m for m in of_type(drain(core), MsgType.APP) if m.to == 2]
    assert [m.index for m in to2] == [4, 5]


def test_probe_sends_one_append_until_answered() -> None:
    core = leader_with_window(3)  # 3 is probing: the no-op probe went out at election
    core.propose_batch([b"aa"] * 3)
    assert [m for m in of_type(drain(core), MsgType.APP) if m.to == 3] == []
    core.step(Message(MsgType.HEARTBEAT_RESP, 1, 3, term=1))  # unpauses the probe
    to3 = [m for m in of_type(drain(core), MsgType.APP) if m.to == 3]
    assert [(m.index, len(m.entries)) for m in to3] == [(0, 1)]
    core.step(Message(MsgType.APP_RESP, 1, 3, term=1, index=1))  # -> replicate: pipeline
    to3 = [m for m in of_type(drain(core), MsgType.APP) if m.to == 3]
    assert [m.index for m in to3] == [1, 2, 3]


def test_full_window_recovers_after_heartbeat_response() -> None:
    core = leader_with_window(2)
    core.propose_batch([b"aa"] * 4)
    drain(core)
    core.propose(b"cc")
    assert [m for m in of_type(drain(core), MsgType.APP) if m.to == 2] == []  # window full
    core.step(Message(MsgType.HEARTBEAT_RESP, 1, 2, term=1))  # all may be lost: let one go
    to2 = [m for m in of_type(drain(core), MsgType.APP) if m.to == 2]
    assert len(to2) == 1


def test_rejection_in_replicate_falls_back_to_probe_from_match() -> None:
    core = leader_with_window(4)
    core.propose_batch([b"aa"] * 3)
    drain(core)
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=3, reject=True, reject_hint=1,
                      log_term=1))
    st = core.status().progress[2]
    assert (st.state, st.next) == (ProgressState.PROBE, 2)
    to2 = [m for m in of_type(drain(core), MsgType.APP) if m.to == 2]
    assert [m.index for m in to2] == [1]


def test_stale_rejection_is_ignored() -> None:
    core = leader_with_window(4)
    core.step(Message(MsgType.APP_RESP, 1, 2, term=1, index=0, reject=True))
    assert core.status().progress[2].state == ProgressState.REPLICATE
    assert drain(core) == []
