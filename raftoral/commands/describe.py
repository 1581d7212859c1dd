"""`raftoral describe ID [--json]`: one workflow run as a node sees it (status, version, owner,
checkpoints, input, result or error, and notes of a node that cannot run it)."""

from __future__ import annotations

import argparse
from typing import Any

from raftoral.client import Client
from raftoral.commands.connect import EXIT_CODES_HELP, EXIT_OK, client_options, run_session
from raftoral.commands.workflow_output import print_json, print_summary, summary_dict


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "describe", parents=[client_options()], help="show one workflow run",
        description="Show workflow run ID: status, version, owner, committed checkpoints, input, "
        "result or error. " + EXIT_CODES_HELP + " (an unknown ID is rejected).",
    )  # fmt: skip
    parser.add_argument("workflow_id", metavar="ID")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    async def session(client: Client) -> int:
        summary = await client.describe(args.workflow_id)
        if args.json:
            print_json(summary_dict(summary))
        else:
            print_summary(summary)
        return EXIT_OK

    return run_session(args, session)
