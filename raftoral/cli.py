"""The `raftoral` command: parses arguments and dispatches to subcommands.

Exit codes (DESIGN.md section 3): 0 success, 1 workflow failed, 2 rejected, 3 unreachable/timeout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from raftoral import __version__
from raftoral.commands import cluster as cluster_command
from raftoral.commands import demo as demo_command
from raftoral.commands import describe as describe_command
from raftoral.commands import kv as kv_command
from raftoral.commands import list_workflows as list_command
from raftoral.commands import node as node_command
from raftoral.commands import start as start_command
from raftoral.errors import RaftoralError

EXIT_OK = 0
EXIT_REJECTED = 2

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raftoral",
        description="Durable workflows replicated with Raft inside your own Python services.",
    )
    parser.add_argument("--version", action="version", version=f"raftoral {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo_command.register(commands)
    node_command.register(commands)
    cluster_command.register(commands)
    kv_command.register(commands)
    start_command.register(commands)
    describe_command.register(commands)
    list_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_OK
    try:
        return handler(args)
    except RaftoralError as err:
        print(f"raftoral: error: {err.message}", file=sys.stderr)
        return EXIT_REJECTED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
