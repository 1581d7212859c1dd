"""`raftoral list [--status S] [--json]`: the workflow runs a node knows (running, and finished
ones within retention), in start order."""

from __future__ import annotations

import argparse
from typing import Any

from raftoral.client import Client
from raftoral.commands.connect import EXIT_CODES_HELP, EXIT_OK, client_options, run_session
from raftoral.commands.workflow_output import print_json, print_table, summary_dict
from raftoral.node.executor import STATUSES


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "list", parents=[client_options()], help="list workflow runs",
        description="List the workflow runs the answering node knows, in start order. "
        + EXIT_CODES_HELP + ".",
    )  # fmt: skip
    parser.add_argument("--status", choices=STATUSES, help="only runs with this status")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    async def session(client: Client) -> int:
        summaries = await client.list(status=args.status)
        if args.json:
            print_json([summary_dict(summary) for summary in summaries])
        else:
            print_table(summaries)
        return EXIT_OK

    return run_session(args, session)
