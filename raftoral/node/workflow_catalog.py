"""The replicated "workflow_catalog" service: the (name, version)s each node has registered, as
every node announces them when it starts, so an entry node refuses a start a member cannot run."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec

from raftoral.errors import RaftoralError
from raftoral.workflow import App

CATALOG: Final = "workflow_catalog"

Versions = dict[str, tuple[int, ...]]  # workflow name -> registered versions


class Announce(msgspec.Struct, frozen=True, array_like=True):
    """Node `node_id` runs these workflows (`workflows` None: it runs no workflow app)."""

    node_id: int
    workflows: Versions | None


class Announced(msgspec.Struct, frozen=True):
    """The apply result of an Announce (never None: None means "address book changed")."""

    node_id: int


_encoder = msgspec.msgpack.Encoder()
_announce = msgspec.msgpack.Decoder(Announce)
_state = msgspec.msgpack.Decoder(dict[int, Versions])


def announcement(node_id: int, app: App | None) -> bytes:
    """This node's Announce, encoded."""
    if app is None:
        return _encoder.encode(Announce(node_id, None))
    registry = app.registry
    versions = {name: registry.versions(name) for name in registry.names()}
    return _encoder.encode(Announce(node_id, versions))


class WorkflowCatalog:
    """Node id -> its registered workflows. Nodes without an app are left out (they run no
    workflows), and so are nodes whose announcement has not applied yet."""

    def __init__(self) -> None:
        self.nodes: dict[int, Versions] = {}

    def apply(self, index: int, data: bytes) -> Announced:
        try:
            announce = _announce.decode(data)
        except msgspec.DecodeError as exc:
            raise RaftoralError(f"catalog entry {index} does not decode ({exc})") from exc
        if announce.workflows is None:
            self.nodes.pop(announce.node_id, None)
        else:
            self.nodes[announce.node_id] = announce.workflows
        return Announced(announce.node_id)

    def lacking(self, name: str, version: int) -> dict[int, tuple[int, ...]]:
        """Announced nodes without (name, version), each with the versions of `name` it has."""
        return {
            node_id: versions.get(name, ())
            for node_id, versions in sorted(self.nodes.items())
            if version not in versions.get(name, ())
        }

    def snapshot(self) -> bytes:
        return _encoder.encode(self.nodes)

    def restore(self, data: bytes) -> None:
        self.nodes = _state.decode(data) if data else {}


def missing_message(name: str, version: int, lacking: dict[int, tuple[int, ...]]) -> str:
    """The refusal of a start of (name, version) that the members in `lacking` cannot run."""
    which = ", ".join(f"node {node_id} ({_has(versions)})" for node_id, versions in lacking.items())
    return (
        f"workflow {name!r} v{version} is not registered on every member of the cluster: missing"
        f" on {which}; deploy it on every node first, or start a version they all have"
        " (--version N)"
    )


def _has(versions: Iterable[int]) -> str:
    listed = ", ".join(f"v{version}" for version in versions)
    return f"has {listed}" if listed else "has no version of it"
