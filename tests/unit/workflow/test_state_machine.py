"""The workflow state machine: idempotent starts, checkpoint order, ownership epochs, ends,
retention by count and age, queries, counts, and snapshot/restore (with a hypothesis test)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raftoral.errors import RaftoralError
from raftoral.workflow.commands import (
    Checkpoint,
    ErrorInfo,
    OwnerChange,
    SetRetention,
    WorkflowCommand,
    WorkflowEnd,
    WorkflowStart,
    encode_command,
)
from raftoral.workflow.records import (
    CheckpointAccepted,
    Conflict,
    Ended,
    Ignored,
    OwnerChanged,
    Started,
)
from raftoral.workflow.state_machine import WorkflowStateMachine


def start(wid: str = "w", *, name: str = "n", data: bytes = b"i", at: int = 0) -> WorkflowStart:
    return WorkflowStart(wid, name, 1, data, owner=1, started_at=at)


def step(seq: int, *, wid: str = "w", key: str = "k", epoch: int = 0) -> Checkpoint:
    return Checkpoint(wid, seq, key, f"v{seq}".encode(), epoch)


def end(wid: str = "w", *, epoch: int = 0, at: int = 0, error: bool = False) -> WorkflowEnd:
    if error:
        return WorkflowEnd(wid, epoch, None, ErrorInfo("ValueError", "boom"), at)
    return WorkflowEnd(wid, epoch, b"\x01", None, at)


def machine(*commands: WorkflowCommand) -> WorkflowStateMachine:
    sm = WorkflowStateMachine()
    for command in commands:
        sm.apply_command(command)
    return sm


# -- start and idempotency -----------------------------------------------------------------


def test_start_creates_a_running_run() -> None:
    sm = WorkflowStateMachine()
    assert sm.apply_command(start()) == Started("w", existing=False, version=1, status="running")
    info = sm.describe("w")
    assert info is not None
    assert (info.status, info.owner, info.epoch, info.checkpoints) == ("running", 1, 0, 0)


def test_same_id_name_and_input_returns_the_existing_run_even_finished() -> None:
    sm = machine(start(), end())
    again = WorkflowStart("w", "n", 2, b"i", owner=3, started_at=5)
    assert sm.apply_command(again) == Started("w", existing=True, version=1, status="completed")


@pytest.mark.parametrize("other", [start(name="other"), start(data=b"other input")])
def test_same_id_with_another_name_or_input_conflicts(other: WorkflowStart) -> None:
    sm = machine(start())
    before = sm.snapshot()
    result = sm.apply_command(other)
    assert isinstance(result, Conflict)
    assert result.code == "workflow_conflict"
    assert "'w'" in result.message and "new id" in result.message
    assert sm.snapshot() == before


# -- checkpoints -----------------------------------------------------------------------------


def test_checkpoints_commit_in_sequence() -> None:
    sm = machine(start())
    accepted = [sm.apply_command(step(seq, key=f"k{seq}")) for seq in range(3)]
    assert all(isinstance(r, CheckpointAccepted) for r in accepted)
    assert [c.key for c in sm.checkpoints("w")] == ["k0", "k1", "k2"]


@pytest.mark.parametrize(("seq", "reason"), [(0, "duplicate"), (2, "sequence_gap")])
def test_out_of_order_checkpoints_are_ignored(seq: int, reason: str) -> None:
    sm = machine(start(), step(0))
    assert sm.apply_command(step(seq)) == Ignored("w", reason)  # type: ignore[arg-type]
    assert len(sm.checkpoints("w")) == 1


def test_checkpoint_of_an_unknown_workflow_is_ignored() -> None:
    assert machine().apply_command(step(0)) == Ignored("w", "unknown_workflow")


# -- ownership epochs ------------------------------------------------------------------------


def test_owner_change_raises_the_epoch_and_fences_the_old_owner() -> None:
    sm = machine(start(), step(0))
    assert sm.apply_command(OwnerChange("w", 2, 1)) == OwnerChanged("w", 2, 1)
    assert sm.apply_command(step(1, epoch=0)) == Ignored("w", "stale_epoch")
    assert sm.apply_command(end(epoch=0)) == Ignored("w", "stale_epoch")
    assert isinstance(sm.apply_command(step(1, epoch=1)), CheckpointAccepted)


@pytest.mark.parametrize(("epoch", "reason"), [(1, "stale_epoch"), (3, "future_epoch")])
def test_owner_change_accepts_only_the_next_epoch(epoch: int, reason: str) -> None:
    sm = machine(start(), OwnerChange("w", 2, 1))
    assert sm.apply_command(OwnerChange("w", 3, epoch)) == Ignored("w", reason)  # type: ignore[arg-type]
    assert sm.describe("w").owner == 2  # type: ignore[union-attr]


def test_a_checkpoint_from_a_future_epoch_is_ignored() -> None:
    assert machine(start()).apply_command(step(0, epoch=1)) == Ignored("w", "future_epoch")


def test_owner_change_of_a_finished_workflow_is_ignored() -> None:
    sm = machine(start(), end())
    assert sm.apply_command(OwnerChange("w", 2, 1)) == Ignored("w", "finished")


# -- end ---------------------------------------------------------------------------------------


def test_a_workflow_ends_once() -> None:
    sm = machine(start(), step(0))
    assert sm.apply_command(end()) == Ended("w", "completed", b"\x01", None)
    assert sm.apply_command(end(error=True)) == Ignored("w", "finished")
    assert sm.apply_command(step(1)) == Ignored("w", "finished")
    info = sm.describe("w")
    assert info is not None and info.status == "completed" and info.checkpoints == 1
    assert sm.checkpoints("w") == []  # a finished run keeps its count, not its queue


def test_an_end_with_an_error_fails_the_workflow() -> None:
    sm = machine(start())
    result = sm.apply_command(end(error=True))
    assert result == Ended("w", "failed", None, ErrorInfo("ValueError", "boom"))


# -- retention ---------------------------------------------------------------------------------


def finished_runs(count: int, *, spacing: int = 0) -> list[WorkflowCommand]:
    commands: list[WorkflowCommand] = []
    for i in range(count):
        commands += [start(f"w{i}", at=i * spacing), end(f"w{i}", at=i * spacing)]
    return commands


def ids(sm: WorkflowStateMachine) -> list[str]:
    return [info.workflow_id for info in sm.workflows()]


def test_retention_keeps_the_newest_finished_runs_by_count() -> None:
    sm = machine(SetRetention(max_finished=2, max_age_ms=10**9), start("r"), *finished_runs(4))
    assert ids(sm) == ["r", "w2", "w3"]  # running runs are never evicted


def test_retention_forgets_runs_older_than_max_age_on_the_commands_clock() -> None:
    sm = machine(SetRetention(100, max_age_ms=50), *finished_runs(3, spacing=40))
    assert ids(sm) == ["w1", "w2"]  # at clock 80, w0 (finished at 0) is older than 50 ms
    sm.apply_command(start("x", at=200))
    assert ids(sm) == ["x"]


def test_the_clock_never_runs_backwards() -> None:
    sm = machine(SetRetention(100, max_age_ms=50), start("a", at=100), end("a", at=100))
    sm.apply_command(start("b", at=10))  # a proposer with a slow clock
    assert ids(sm) == ["a", "b"]


def test_setting_retention_evicts_at_once_and_a_forgotten_id_starts_anew() -> None:
    sm = machine(*finished_runs(3))
    sm.apply_command(SetRetention(max_finished=0, max_age_ms=10**9))
    assert ids(sm) == []
    assert sm.apply_command(start("w0")) == Started("w0", False, 1, "running")


# -- queries and counts -------------------------------------------------------------------


def test_workflows_lists_in_start_order_by_status() -> None:
    sm = machine(start("a"), start("b"), end("a"), start("c"), end("c", error=True))
    assert ids(sm) == ["a", "b", "c"]
    assert [i.workflow_id for i in sm.workflows("running")] == ["b"]
    assert [i.workflow_id for i in sm.workflows("failed")] == ["c"]
    assert sm.describe("nope") is None


def test_counts_are_replicated_totals() -> None:
    sm = machine(start("a"), start("b"), start("c", name="m"), end("a"), end("b", error=True))
    counts = sm.counts()
    assert counts.running == 1
    assert counts.started == {"n": {1: 2}, "m": {1: 1}}
    assert counts.finished == {"n": {"completed": 1, "failed": 1}}


# -- encoding, snapshot and restore -------------------------------------------------------


def test_apply_decodes_bytes_and_rejects_a_bad_entry() -> None:
    sm = WorkflowStateMachine()
    assert isinstance(sm.apply(1, encode_command(start())), Started)
    with pytest.raises(RaftoralError) as raised:
        sm.apply(7, b"\xff not a command")
    assert raised.value.code == "bad_entry" and "entry 7" in str(raised.value)


def test_restore_of_an_empty_snapshot_is_the_initial_state() -> None:
    sm = machine(start(), SetRetention(1, 1))
    sm.restore(b"")
    assert sm.snapshot() == WorkflowStateMachine().snapshot()


WIDS = st.sampled_from(["a", "b"])
EPOCHS = st.integers(0, 2)
COMMANDS = st.one_of(
    st.builds(
        WorkflowStart,
        WIDS,
        st.sampled_from(["n", "m"]),
        st.just(1),
        st.sampled_from([b"x", b"y"]),
        st.integers(1, 3),
        st.integers(0, 100),
    ),
    st.builds(
        Checkpoint,
        WIDS,
        st.integers(0, 3),
        st.sampled_from(["k", "j"]),
        st.binary(max_size=2),
        EPOCHS,
        st.booleans(),
    ),
    st.builds(WorkflowEnd, WIDS, EPOCHS, st.just(b"r"), st.none(), st.integers(0, 100)),
    st.builds(OwnerChange, WIDS, st.integers(1, 3), EPOCHS),
    st.builds(SetRetention, st.integers(0, 2), st.integers(0, 60)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(COMMANDS, max_size=30), st.lists(COMMANDS, max_size=30))
def test_a_restored_machine_behaves_like_the_original(
    before: list[WorkflowCommand], after: list[WorkflowCommand]
) -> None:
    original = machine(*before)
    restored = WorkflowStateMachine()
    restored.restore(original.snapshot())
    assert restored.snapshot() == original.snapshot()
    for command in after:
        data = encode_command(command)
        assert restored.apply(0, data) == original.apply(0, data)
    assert restored.snapshot() == original.snapshot()
    assert restored.workflows() == original.workflows()
    assert restored.counts() == original.counts()
