"""`raftoral start NAME --input JSON`: start a workflow through the client; the last line of
stdout is its result as JSON (with --no-wait: the workflow id as a JSON string)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from raftoral.client import Client
from raftoral.commands.connect import EXIT_OK, EXIT_REJECTED, client_options, fail, run_session
from raftoral.commands.workflow_output import EXIT_FAILED, as_json
from raftoral.errors import WorkflowFailed

EXIT_HELP = (
    "Exit codes: 0 completed, 1 the workflow failed, 2 rejected (usage, unknown workflow or "
    "version, a version some member lacks, invalid input, payload too large, id conflict), 3 no "
    "node reachable or timed out"
)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "start", parents=[client_options()], help="start a workflow and print its result",
        description="Start workflow NAME on the first node that answers (it owns the run) and "
        "wait for its result, printed as JSON on the last line of stdout. --timeout bounds the "
        "whole wait. " + EXIT_HELP + ".",
    )  # fmt: skip
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--input", required=True, metavar="JSON", help="the input, as JSON")
    parser.add_argument("--version", type=int, help="default: the newest on the entry node")
    parser.add_argument("--workflow-id", metavar="ID", help="an idempotency key (default: new)")
    parser.add_argument(
        "--no-wait", action="store_true", help="print the workflow id once the start committed"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        value = json.loads(args.input)
    except json.JSONDecodeError as exc:
        return fail(f"--input is not JSON ({exc})", EXIT_REJECTED)

    async def session(client: Client) -> int:
        handle = await client.start_workflow(
            args.name, value, version=args.version, workflow_id=args.workflow_id
        )
        existing = " (an existing run with this id)" if handle.existing else ""
        print(f"started {handle.workflow_id}: {handle.name} v{handle.version}{existing}")
        if args.no_wait:
            print(as_json(handle.workflow_id))
            return EXIT_OK
        try:
            result = await handle.result(timeout=client.timeout)
        except WorkflowFailed as exc:
            return fail(exc.message, EXIT_FAILED)
        print(as_json(result))
        return EXIT_OK

    return run_session(args, session)
