"""`raftoral cluster [--json]` (every member's view: roles, leader, term, commit and applied index)
and `raftoral cluster remove ID`, through the Python client."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table

from raftoral.client import Client
from raftoral.commands.connect import EXIT_CODES_HELP, EXIT_OK, client_options, run_session
from raftoral.wire import ClusterInfo, MemberInfo

Report = dict[str, Any]  # one cluster, as `raftoral cluster --json` prints it
# (report key, table header) of each column
COLUMNS = (("node_id", "node"), ("address", "address"), ("membership", "member"), ("role", "role"),
           ("term", "term"), ("commit", "commit"), ("applied", "applied"),
           ("last_index", "last"), ("match", "match"))  # fmt: skip


def register(commands: Any) -> None:
    options = client_options()
    cluster = commands.add_parser(
        "cluster", parents=[options], help="show the cluster's members, or remove one",
        description="Show every member of the cluster as it sees itself: membership (voter or "
        "learner), role, term, commit and applied index, and the leader's replication progress "
        "(match). Members that do not answer are shown as unreachable. " + EXIT_CODES_HELP + ".",
    )  # fmt: skip
    cluster.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cluster.set_defaults(handler=_show)
    actions = cluster.add_subparsers(dest="cluster_action", metavar="ACTION")
    remove = actions.add_parser(
        "remove", parents=[options], help="remove node ID from the cluster",
        description="Remove node ID from the cluster (a follower, a learner or the leader, "
        "which then steps down). " + EXIT_CODES_HELP + ".",
    )  # fmt: skip
    remove.add_argument("node_id", metavar="ID", type=int)
    remove.set_defaults(handler=_remove)


def _show(args: argparse.Namespace) -> int:
    async def session(client: Client) -> int:
        reports = [cluster_report(await client.cluster_info())]
        if args.json:
            print(json.dumps({"clusters": reports}, indent=2))
        else:
            console = Console()
            for report in reports:
                console.print(cluster_table(report))
        return EXIT_OK

    return run_session(args, session)


def _remove(args: argparse.Namespace) -> int:
    async def session(client: Client) -> int:
        index = await client.remove_node(args.node_id)
        print(f"ok: node {args.node_id} removed (configuration change at index {index})")
        return EXIT_OK

    return run_session(args, session)


def cluster_report(views: Sequence[ClusterInfo]) -> Report:
    """One cluster from its members' own views: the membership as the most recent view (the
    leader's when it answered) lists it, each member with what it says of itself."""
    newest = max(views, key=lambda view: (view.term, view.role == "leader", view.commit))
    by_id = {view.node_id: view for view in views}
    return {
        "cluster": newest.cluster,
        "cluster_uid": newest.cluster_uid,
        "leader": newest.leader,
        "term": newest.term,
        "members": [_member(member, by_id.get(member.node_id)) for member in newest.members],
    }


def _member(member: MemberInfo, view: ClusterInfo | None) -> dict[str, Any]:
    own: dict[str, Any] = {"role": "unreachable", "term": None, "commit": None, "applied": None,
                           "last_index": None}  # fmt: skip
    if view is not None:
        own = {"role": view.role, "term": view.term, "commit": view.commit,
               "applied": view.applied, "last_index": view.last_index}  # fmt: skip
    match = member.match if member.match >= 0 else None
    return {"node_id": member.node_id, "address": member.address, "membership": member.role,
            **own, "match": match}  # fmt: skip


def cluster_table(report: Report) -> Table:
    """The report as a table: the leader in green, members that did not answer in red."""
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        title=f"cluster {report['cluster']} · leader {report['leader'] or 'none'} · "
        f"term {report['term']} · uid {report['cluster_uid']}"
    )
    for key, header in COLUMNS:
        justify: JustifyMethod = "left" if key in ("address", "membership", "role") else "right"
        table.add_column(header, justify=justify, no_wrap=True)
    for member in report["members"]:
        style = "bold green" if member["role"] == "leader" else (
            "red" if member["role"] == "unreachable" else None
        )
        cells = ["" if member[key] is None else str(member[key]) for key, _ in COLUMNS]
        table.add_row(*cells, style=style)
    return table
