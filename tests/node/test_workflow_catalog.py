"""The replicated workflow catalog on its own: announcements per node, nodes without an app left
out, what a start of (name, version) lacks, and its snapshot round trip."""

from __future__ import annotations

import pytest

from raftoral import App, WorkflowContext
from raftoral.errors import RaftoralError
from raftoral.node.workflow_catalog import WorkflowCatalog, announcement, missing_message


def app_with(*versions: int) -> App:
    app = App("catalog")
    for version in versions:

        @app.workflow("order", version=version)
        async def order(ctx: WorkflowContext, qty: int) -> int:
            return qty

    return app


def test_what_each_node_lacks_and_a_node_without_an_app() -> None:
    catalog = WorkflowCatalog()
    catalog.apply(1, announcement(1, app_with(1, 2)))
    catalog.apply(2, announcement(2, app_with(1)))
    catalog.apply(3, announcement(3, App("empty")))
    assert catalog.lacking("order", 2) == {2: (1,), 3: ()}
    assert catalog.lacking("order", 1) == {3: ()}
    catalog.apply(4, announcement(3, None))  # node 3 restarted without an app: not checked
    catalog.apply(5, announcement(2, app_with(1, 2)))  # node 2 upgraded
    assert catalog.lacking("order", 2) == {}
    message = missing_message("order", 2, {2: (1,), 3: ()})
    assert "missing on node 2 (has v1), node 3 (has no version of it)" in message


def test_the_catalog_survives_a_snapshot_and_rejects_garbage() -> None:
    catalog = WorkflowCatalog()
    catalog.apply(1, announcement(7, app_with(1)))
    restored = WorkflowCatalog()
    restored.restore(catalog.snapshot())
    assert restored.nodes == {7: {"order": (1,)}}
    restored.restore(b"")
    assert restored.nodes == {}
    with pytest.raises(RaftoralError, match="catalog entry 9 does not decode"):
        catalog.apply(9, b"\xc1")
