"""What every command that talks to a cluster shares: the --connect and --timeout options, and
running one client session with errors turned into one stderr line and an exit code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable

import actors
from raftoral.client import CONNECT_ENV, DEFAULT_CONNECT, Client, parse_connect
from raftoral.errors import NoNodeReachable, RaftoralError, Timeout

# Exit codes (DESIGN.md section 3); NOT_FOUND is `kv get` of a missing key.
EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_REJECTED = 2
EXIT_UNREACHABLE = 3

EXIT_CODES_HELP = "Exit codes: 0 ok, 2 rejected or bad usage, 3 no node reachable or timed out"

DEFAULT_TIMEOUT = 10.0

Session = Callable[[Client], Awaitable[int]]


def client_options() -> argparse.ArgumentParser:
    """A parent parser with --connect and --timeout, for `parents=[...]` of each subcommand."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--connect",
        metavar="HOST:PORT,...",
        default=argparse.SUPPRESS,
        help=f"nodes to try in turn (default: ${CONNECT_ENV}, else {DEFAULT_CONNECT})",
    )
    parent.add_argument(
        "--timeout",
        type=float,
        default=argparse.SUPPRESS,
        metavar="S",
        help=f"give up after S seconds, failing over between nodes meanwhile "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    return parent


def run_session(args: argparse.Namespace, session: Session) -> int:
    """Run `session` with a client connected as the options say; map errors to exit codes."""
    try:
        addresses = parse_connect(getattr(args, "connect", None))
        timeout = getattr(args, "timeout", DEFAULT_TIMEOUT)
        return actors.run(_with_client(addresses, timeout, session))
    except (NoNodeReachable, Timeout) as err:
        return fail(err.message, EXIT_UNREACHABLE)
    except RaftoralError as err:
        return fail(err.message, EXIT_REJECTED)
    except actors.ActorsError as err:
        return fail(err.message, EXIT_UNREACHABLE)


def fail(message: str, code: int) -> int:
    """Print one line on stderr and return `code`."""
    print(f"raftoral: error: {message}", file=sys.stderr)
    return code


async def _with_client(addresses: list[str], timeout: float, session: Session) -> int:
    async with Client(addresses, timeout=timeout) as client:
        return await session(client)
