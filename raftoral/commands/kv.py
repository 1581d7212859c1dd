"""`raftoral kv put|get|delete`: the replicated key-value store that every node runs (the test
and benchmark workload), through the Python client."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from raftoral.client import Client
from raftoral.commands.connect import (
    EXIT_CODES_HELP,
    EXIT_NOT_FOUND,
    EXIT_OK,
    client_options,
    fail,
    run_session,
)


def register(commands: Any) -> None:
    kv = commands.add_parser(
        "kv",
        help="put, get and delete keys of the replicated key-value store",
        description="The replicated key-value store every node runs. " + EXIT_CODES_HELP + ".",
    )
    actions = kv.add_subparsers(dest="kv_action", metavar="ACTION", required=True)
    options = client_options()
    put = actions.add_parser(
        "put", parents=[options], help="set KEY to VALUE",
        description="Set KEY to VALUE (UTF-8); prints the log index of the committed write. "
        + EXIT_CODES_HELP + ".",
    )  # fmt: skip
    put.add_argument("key", metavar="KEY")
    put.add_argument("value", metavar="VALUE")
    put.set_defaults(handler=_put)
    get = actions.add_parser(
        "get", parents=[options], help="print the value of KEY",
        description="Print the value of KEY and a newline. A missing key prints nothing on "
        "stdout, one line on stderr, and exits 1. Other exit codes: 0 found, 2 rejected or bad "
        "usage, 3 no node reachable or timed out.",
    )  # fmt: skip
    get.add_argument("key", metavar="KEY")
    get.add_argument(
        "--local", action="store_true",
        help="read the answering node's applied state (fast, possibly stale) instead of a "
        "linearizable read",
    )  # fmt: skip
    get.set_defaults(handler=_get)
    delete = actions.add_parser(
        "delete", parents=[options], help="delete KEY",
        description="Delete KEY (succeeds whether or not it existed). " + EXIT_CODES_HELP + ".",
    )  # fmt: skip
    delete.add_argument("key", metavar="KEY")
    delete.set_defaults(handler=_delete)


def _put(args: argparse.Namespace) -> int:
    async def session(client: Client) -> int:
        index = await client.kv_put(args.key, args.value)
        print(f"ok: {args.key} written at index {index}")
        return EXIT_OK

    return run_session(args, session)


def _get(args: argparse.Namespace) -> int:
    async def session(client: Client) -> int:
        value = await client.kv_get(args.key, linearizable=not args.local)
        if value is None:
            return fail(f"key {args.key!r} not found", EXIT_NOT_FOUND)
        sys.stdout.buffer.write(value + b"\n")
        sys.stdout.flush()
        return EXIT_OK

    return run_session(args, session)


def _delete(args: argparse.Namespace) -> int:
    async def session(client: Client) -> int:
        existed = await client.kv_delete(args.key)
        print(f"ok: {args.key} deleted" if existed else f"ok: {args.key} was not there")
        return EXIT_OK

    return run_session(args, session)
