"""WorkflowExecutorActor: runs every workflow body on this node as entries apply. The owner (the
node a run was started on) proposes its steps and end; the others read committed steps in order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Final

import msgspec
import structlog

from actors import Actor, ActorsError, Address, AskTimeout, Context, RemoteError, handler
from raftoral.errors import (
    NonDeterminismError,
    NoSuchRun,
    RaftoralError,
    Rejected,
    Timeout,
    VersionMissingOnMember,
    WorkflowConflict,
)
from raftoral.handles import WorkflowHandle
from raftoral.node.group import ClientCall
from raftoral.node.state_machine import StateMachine
from raftoral.node.workflow_catalog import (
    CATALOG,
    WorkflowCatalog,
    announcement,
    missing_message,
)
from raftoral.node.workflow_proposals import summary
from raftoral.node.workflow_runs import RETRY_DELAY, LocalRun, now_ms
from raftoral.wire import (
    ROUTER,
    ClusterInfo,
    ClusterInfoRequest,
    DescribeWorkflow,
    ErrorCode,
    ListWorkflows,
    ProposeWorkflow,
    StartWorkflow,
    WorkflowList,
    WorkflowProposed,
    WorkflowResultRequest,
    WorkflowStarted,
    WorkflowSummary,
)
from raftoral.workflow import App, WorkflowContext, WorkflowDefinition, WorkflowStateMachine
from raftoral.workflow.commands import (
    SERVICE,
    ErrorInfo,
    WorkflowCommand,
    WorkflowEnd,
    WorkflowStart,
    encode_command,
)
from raftoral.workflow.records import (
    CheckpointAccepted,
    Ended,
    OwnerChanged,
    Started,
    Status,
    WorkflowInfo,
)

log = structlog.get_logger("raftoral.workflow")

PROPOSE_TIMEOUT: Final = 10.0  # seconds a proposal may take to reach the leader and apply
START_WITHIN: Final = 10.0  # seconds a start keeps retrying while there is no leader
TRANSIENT: Final = frozenset({ErrorCode.NO_LEADER, ErrorCode.NOT_LEADER, ErrorCode.RETRY})
MAX_ANNOUNCE_DELAY: Final = 1.0  # seconds between attempts to announce this node's workflows
STATUSES: Final = ("running", "completed", "failed")


class ObservedWorkflows:
    """The "workflow" service as the Raft group applies it: the pure state machine, with every
    apply and restore reported to the executor."""

    def __init__(self, executor: WorkflowExecutorActor) -> None:
        self.machine = WorkflowStateMachine()
        self._executor = executor

    def apply(self, index: int, data: bytes) -> Any:
        result = self.machine.apply(index, data)
        self._executor.applied(index, result)
        return result

    def snapshot(self) -> bytes:
        return self.machine.snapshot()

    def restore(self, data: bytes) -> None:
        self.machine.restore(data)
        self._executor.restored()


class WorkflowExecutorActor(Actor):
    """Spawned as `wire.EXECUTOR`. Give `services` to the RaftGroupActor; serves StartWorkflow,
    WorkflowResultRequest, DescribeWorkflow and ListWorkflows (handed over by the router)."""

    def __init__(self, app: App | None, *, router: str = ROUTER) -> None:
        self.app = app
        self.router = router
        self.machine = WorkflowStateMachine()
        self.catalog = WorkflowCatalog()
        self.runs: dict[str, LocalRun] = {}
        self.notes: dict[str, tuple[str, ...]] = {}
        self.applied_index = 0
        self._applied_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._watchers: dict[str, list[asyncio.Future[None]]] = {}  # woken at start and end
        self._mine: set[str] = set()  # starts this node proposed, until applied here
        self._tasks: set[asyncio.Task[None]] = set()

    def services(self) -> dict[str, StateMachine]:
        """Fresh "workflow" and "workflow_catalog" services for the group (at each (re)start
        of the group)."""
        observed = ObservedWorkflows(self)
        self.machine = observed.machine
        self.catalog = WorkflowCatalog()
        return {SERVICE: observed, CATALOG: self.catalog}

    async def on_start(self) -> None:
        self._spawn(self._announce())

    async def _announce(self) -> None:
        """Record this node's registered workflows in the catalog (retried until applied)."""
        request = ProposeWorkflow(announcement(self.bus.node_id, self.app), service=CATALOG)
        router = Address(self.bus.node_id, self.router)
        delay = RETRY_DELAY
        while True:
            try:
                await self.bus.ask(router, request, timeout=PROPOSE_TIMEOUT)
                return
            except RemoteError as exc:
                if exc.code not in (*TRANSIENT, ErrorCode.TIMEOUT):
                    log.error("announcing this node's workflows failed", error=str(exc))
                    return
            except ActorsError:
                pass  # no answer in time: try again
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_ANNOUNCE_DELAY)

    async def on_stop(self) -> None:
        for run in self.runs.values():
            run.end()
        for task in list(self._tasks):
            task.cancel()

    # -- applied entries ---------------------------------------------------------------------

    def applied(self, index: int, result: Any) -> None:
        """Called by the group for every applied workflow entry; never raises into it."""
        try:
            self._on_result(result)
        except Exception:
            log.exception("workflow executor failed on an applied entry", index=index)
        self.applied_index = max(self.applied_index, index)
        self._wake_applied()

    def restored(self) -> None:
        """The state machine was replaced (group start, snapshot install): resynchronise."""
        try:
            self._resync()
        except Exception:
            log.exception("workflow executor failed to resynchronise after a restore")
        self._wake_applied(everyone=True)
        for workflow_id in list(self._watchers):
            self._wake_watchers(workflow_id)

    def _resync(self) -> None:
        for info in self.machine.workflows("running"):
            run = self.runs.get(info.workflow_id)
            if run is None:
                self._launch(info)
            else:
                run.catch_up(self.machine.checkpoints(info.workflow_id))
        for workflow_id in list(self.runs):
            now = self.machine.describe(workflow_id)
            if now is not None and now.status != "running":
                self._finish(workflow_id)

    def _on_result(self, result: Any) -> None:
        match result:
            case Started(existing=False):
                info = self.machine.describe(result.workflow_id)
                if info is not None:
                    self._launch(info)
                self._wake_watchers(result.workflow_id)
            case CheckpointAccepted():
                run = self.runs.get(result.workflow_id)
                if run is not None:
                    run.accepted(result.checkpoint)
            case OwnerChanged():
                run = self.runs.get(result.workflow_id)
                if run is not None:
                    run.owner_changed(result.owner == self.bus.node_id, result.epoch)
            case Ended():
                self._finish(result.workflow_id)

    def _launch(self, info: WorkflowInfo) -> None:
        workflow_id = info.workflow_id
        if workflow_id in self.runs:
            return  # a replayed start (the group restarted)
        owned = info.owner == self.bus.node_id and workflow_id in self._mine
        if info.owner == self.bus.node_id and not owned:
            log.info(
                "this node owns a run it did not start in this process; it only follows it"
                " until owner takeover lands (issue 8)",
                workflow=workflow_id,
            )
        body = self._body_of(info)
        if body is None:
            return
        run = LocalRun(workflow_id, info.epoch, owned, self.machine.checkpoints(workflow_id), self)
        self.runs[workflow_id] = run
        self._spawn(self._run_body(run, *body))

    def _body_of(self, info: WorkflowInfo) -> tuple[App, WorkflowDefinition, Any] | None:
        """What this node runs for `info`, or None (noted for describe, logged) when it cannot."""
        if self.app is None:
            return None  # describe says so (`_notes`)
        try:
            definition = self.app.lookup(info.name, info.version)
            return self.app, definition, definition.decode_input(info.input)
        except RaftoralError as exc:
            note = f"node {self.bus.node_id} cannot run this workflow: {exc.message}"
            self._add_note(info.workflow_id, note)
            log.error("workflow not run on this node", workflow=info.workflow_id, reason=note)
            return None

    def _add_note(self, workflow_id: str, note: str) -> None:
        self.notes[workflow_id] = (*self.notes.get(workflow_id, ()), note)

    async def _run_body(
        self, run: LocalRun, app: App, definition: WorkflowDefinition, value: Any
    ) -> None:
        """Run the body; the owner then proposes its end (result or error)."""
        result: bytes | None = None
        error: ErrorInfo | None = None
        try:
            output = await definition.fn(WorkflowContext(run.workflow_id, run), value)
            result = app.encode_result(definition, output)
        except NonDeterminismError as exc:
            error = ErrorInfo(_type_name(exc), str(exc))
            if not run.owned:  # a waiter that diverged from the committed steps
                self._add_note(run.workflow_id, f"node {self.bus.node_id}: {exc.message}")
                log.error("workflow diverged on this node", workflow=run.workflow_id)
        except Exception as exc:
            error = ErrorInfo(_type_name(exc), str(exc))
        if run.owned:
            end = WorkflowEnd(run.workflow_id, run.epoch(), result, error, run.now_ms())
            await run.propose_end(end)

    def _finish(self, workflow_id: str) -> None:
        run = self.runs.pop(workflow_id, None)
        if run is not None:
            run.end()
        self._wake_watchers(workflow_id)

    def _wake_watchers(self, workflow_id: str) -> None:
        for waiter in self._watchers.pop(workflow_id, []):
            if not waiter.done():
                waiter.set_result(None)

    # -- proposals (the Proposer of LocalRun) -------------------------------------------------

    async def propose(self, command: WorkflowCommand) -> WorkflowProposed:
        """Propose through this node's router (it forwards to the leader); the apply result."""
        return await self.send_proposal(command)

    def send_proposal(self, command: WorkflowCommand) -> asyncio.Future[WorkflowProposed]:
        """The proposal's ask, started now: proposals leave in call order."""
        request = ProposeWorkflow(encode_command(command))
        router = Address(self.bus.node_id, self.router)
        ask = self.bus.ask(router, request, timeout=PROPOSE_TIMEOUT, expect=WorkflowProposed)
        return asyncio.ensure_future(ask)

    async def until_applied(self, index: int) -> None:
        if index <= self.applied_index:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._applied_waiters.append((index, waiter))
        await waiter

    def _wake_applied(self, *, everyone: bool = False) -> None:
        keep = []
        for index, waiter in self._applied_waiters:
            if everyone or index <= self.applied_index:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                keep.append((index, waiter))
        self._applied_waiters = keep

    # -- the API -----------------------------------------------------------------------------

    async def start_workflow(
        self, name: str, input: Any, *, version: int | None = None, workflow_id: str | None = None
    ) -> WorkflowHandle:
        """Start a run owned by this node; returns once its start is committed and applied here."""
        started = await self.start(name, input, version, workflow_id)
        return WorkflowHandle(started, self.wait_finished, self._decoder(started))

    def _decoder(self, started: WorkflowStarted) -> Callable[[bytes], Any]:
        """The result's type from this node's App; msgspec builtins for a version it lacks (an
        existing run started elsewhere)."""
        try:
            return self._require_app().lookup(started.name, started.version).decode_output
        except RaftoralError:
            return msgspec.msgpack.decode

    async def start(
        self, name: str, value: Any, version: int | None, workflow_id: str | None
    ) -> WorkflowStarted:
        definition, data = self._require_app().prepare_input(name, value, version=version)
        await self._check_members(definition)
        workflow_id = workflow_id or uuid.uuid4().hex
        start = WorkflowStart(
            workflow_id, definition.name, definition.version, data, self.bus.node_id, now_ms()
        )
        self._mine.add(workflow_id)
        try:
            reply = await self.propose_idempotent(start)
            await asyncio.wait_for(self.until_applied(reply.index), PROPOSE_TIMEOUT)
        except TimeoutError as exc:
            raise Timeout(
                f"the start of {workflow_id!r} committed, but node {self.bus.node_id} did not"
                f" apply it within {PROPOSE_TIMEOUT:g}s"
            ) from exc
        finally:
            self._mine.discard(workflow_id)
        if reply.outcome == "conflict":
            raise WorkflowConflict(reply.message)
        return WorkflowStarted(
            workflow_id, definition.name, reply.version, reply.existing, reply.status
        )

    async def _check_members(self, definition: WorkflowDefinition) -> None:
        """Refuse a (name, version) that a member of the cluster has not registered (as the
        catalog says; members down count too: they run every workflow when they come back)."""
        lacking = self.catalog.lacking(definition.name, definition.version)
        lacking.pop(self.bus.node_id, None)  # registered here, whatever this node announced
        if not lacking:
            return
        members = await self._members()
        lacking = {node_id: has for node_id, has in lacking.items() if node_id in members}
        if lacking:
            raise VersionMissingOnMember(
                missing_message(definition.name, definition.version, lacking),
                members=tuple(lacking),
            )

    async def _members(self) -> set[int]:
        """The node ids of the cluster's current members, as this node's group knows them."""
        router = Address(self.bus.node_id, self.router)
        try:
            info = await self.bus.ask(
                router, ClusterInfoRequest(), timeout=PROPOSE_TIMEOUT, expect=ClusterInfo
            )
        except ActorsError as exc:
            raise Timeout(f"node {self.bus.node_id} could not read its membership: {exc}") from exc
        return {member.node_id for member in info.members}

    async def propose_idempotent(self, command: WorkflowCommand) -> WorkflowProposed:
        """Propose a command that may safely apply twice (a start, by its workflow id; a
        retention setting), retrying until START_WITHIN while no leader answers for sure."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_WITHIN
        while True:
            try:
                return await self.propose(command)
            except RemoteError as exc:
                # a start is idempotent by its workflow id, so one whose outcome is unknown (the
                # leader it reached lost its leadership) is proposed again
                retry = exc.code in TRANSIENT or exc.code == ErrorCode.TIMEOUT
                if not retry or loop.time() > deadline:
                    raise _mapped(exc) from exc
            except AskTimeout as exc:
                message = f"the start did not complete in time ({exc}); its outcome is unknown"
                raise Timeout(message) from exc
            await asyncio.sleep(RETRY_DELAY)

    async def wait_finished(self, workflow_id: str, timeout: float) -> WorkflowSummary:
        """The run once it finished, or as it is after `timeout` seconds. A run this node has
        not applied yet (just started through another node) is waited for too; NoSuchRun if it
        is still unknown here after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0 and not self._finished_here(workflow_id):
            waiter = loop.create_future()
            watchers = self._watchers.setdefault(workflow_id, [])
            watchers.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                watchers.remove(waiter)
                if not watchers and self._watchers.get(workflow_id) is watchers:
                    del self._watchers[workflow_id]
        return self.describe(workflow_id)

    def _finished_here(self, workflow_id: str) -> bool:
        info = self.machine.describe(workflow_id)
        return info is not None and info.status != "running"

    def describe(self, workflow_id: str) -> WorkflowSummary:
        info = self.machine.describe(workflow_id)
        if info is None:
            raise NoSuchRun(
                f"no workflow run {workflow_id!r} is known to node {self.bus.node_id} (never"
                " started, or forgotten after the retention of finished runs)"
            )
        return summary(info, self._notes(workflow_id))

    def list(self, status: str | None = None) -> tuple[WorkflowSummary, ...]:
        if status is not None and status not in STATUSES:
            raise Rejected(f"unknown status {status!r}; use one of {', '.join(STATUSES)}")
        wanted: Status | None = status  # type: ignore[assignment]
        infos = self.machine.workflows(wanted)
        return tuple(summary(info, self._notes(info.workflow_id)) for info in infos)

    def _notes(self, workflow_id: str) -> tuple[str, ...]:
        if self.app is None:
            return (f"node {self.bus.node_id} runs no workflow app (start it with --app)",)
        return self.notes.get(workflow_id, ())

    def _require_app(self) -> App:
        if self.app is None:
            raise Rejected(
                f"node {self.bus.node_id} runs no workflow app, so it starts no workflows; start"
                " it with --app MODULE[:ATTR] (or pass the App to Node.start)",
                code="no_app",
            )
        return self.app

    # -- requests from clients ---------------------------------------------------------------

    @handler
    def on_call(self, call: ClientCall, ctx: Context) -> None:
        self._spawn(self._serve(call.request, call.ctx))

    async def _serve(self, request: Any, ctx: Context) -> None:
        try:
            reply = await self._answer(request)
        except RaftoralError as exc:
            ctx.fail(exc.code, exc.message)
        else:
            ctx.reply(reply)

    async def _answer(self, request: Any) -> Any:
        match request:
            case StartWorkflow():
                value = _decode_input(request.input)
                version, workflow_id = request.version or None, request.workflow_id or None
                return await self.start(request.name, value, version, workflow_id)
            case WorkflowResultRequest():
                return await self.wait_finished(request.workflow_id, request.timeout)
            case DescribeWorkflow():
                return self.describe(request.workflow_id)
            case ListWorkflows():
                return WorkflowList(self.list(request.status or None))
        raise Rejected(f"the executor does not serve {type(request).__name__}")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _decode_input(data: bytes) -> Any:
    try:
        return msgspec.msgpack.decode(data)
    except msgspec.DecodeError as exc:
        raise Rejected(f"the input is not MessagePack ({exc})", code="invalid_input") from exc


def _mapped(exc: RemoteError) -> RaftoralError:
    if exc.code in (*TRANSIENT, ErrorCode.TIMEOUT):
        return Timeout(f"the start did not commit: {exc}")
    return RaftoralError(str(exc), code=exc.code)


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
