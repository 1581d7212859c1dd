"""examples/ping_actor.py runs: a serve process answers a ping process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import die_with_parent

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ping_actor.py"


def test_ping_example_across_two_processes() -> None:
    command = [sys.executable, str(EXAMPLE)]
    server = subprocess.Popen(
        [*command, "serve", "--listen", "127.0.0.1:0", "--node-id", "2"],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        port = re.search(r"port (\d+)", banner)
        assert port, f"server did not start: {banner!r}"
        pinged = subprocess.run(
            [
                *command,
                "ping",
                "--connect",
                f"127.0.0.1:{port[1]}",
                "--node-id",
                "2",
                "--count",
                "3",
                "--text",
                "hi",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert pinged.returncode == 0, pinged.stderr
        lines = pinged.stdout.splitlines()
        assert [line.split(":")[0] for line in lines] == ["pong 1", "pong 2", "pong 3"]
        assert "'HI' (message 3 served by 2/echo)" in lines[2]
    finally:
        server.kill()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
