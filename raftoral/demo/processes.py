"""The demo's local cluster: `raftoral node` OS processes on 127.0.0.1, their ports, data dirs and
logs; started, SIGKILLed, restarted and stopped (SIGTERM, then SIGKILL after a deadline)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from raftoral.demo.app import LEDGER_ENV
from raftoral.errors import RaftoralError

HOST = "127.0.0.1"
APP = "raftoral.demo.app"  # the workflow app every node runs
METRICS_OFFSET = 100  # node i serves /metrics on base-port + 100 + i - 1
STOP_GRACE = 5.0  # seconds a node gets to shut down cleanly (a leader hands over first)


class PortInUse(RaftoralError):
    """A port the demo's cluster needs is taken; the message suggests another --base-port."""

    code = "port_in_use"


class NodeExited(RaftoralError):
    """A node process the demo started exited on its own; the message quotes its log."""

    code = "node_exited"


class LocalCluster:
    """Nodes 1..count running the demo app: node i listens on base_port + i - 1 and keeps its data
    in data_dir/n<i> (its output goes to data_dir/n<i>.log); every charge the app makes is appended
    to data_dir/charges.log. Every process started is stopped by `stop_all`."""

    def __init__(self, count: int, base_port: int, data_dir: Path) -> None:
        self.count = count
        self.base_port = base_port
        self.data_dir = data_dir
        self.procs: dict[int, subprocess.Popen[bytes]] = {}  # running (or exited on their own)
        self.started: list[int] = []  # the pid of every process ever started

    @property
    def ids(self) -> list[int]:
        return list(range(1, self.count + 1))

    def address(self, node: int) -> str:
        return f"{HOST}:{self.base_port + node - 1}"

    def addresses(self) -> list[str]:
        return [self.address(node) for node in self.ids]

    def metrics_port(self, node: int) -> int:
        return self.base_port + METRICS_OFFSET + node - 1

    def metrics_url(self, node: int) -> str:
        return f"http://{HOST}:{self.metrics_port(node)}/metrics"

    @property
    def ledger(self) -> Path:
        return self.data_dir / "charges.log"

    def log_path(self, node: int) -> Path:
        return self.data_dir / f"n{node}.log"

    def has_data(self) -> bool:
        """Whether the data dir holds nodes of an earlier run (they then restart from it)."""
        return any((self.data_dir / f"n{node}" / "identity.json").exists() for node in self.ids)

    # -- ports -------------------------------------------------------------------------------

    def check_ports(self) -> None:
        """Raise PortInUse naming the first port (listen or metrics) that cannot be bound."""
        for node in self.ids:
            for port, use in ((self.base_port + node - 1, "listen"),
                              (self.metrics_port(node), "metrics")):  # fmt: skip
                if not port_free(port):
                    raise PortInUse(
                        f"port {port} on {HOST} ({use} port of node {node}) is in use; "
                        f"choose another range with --base-port (e.g. --base-port "
                        f"{self.base_port + 2 * METRICS_OFFSET})"
                    )

    # -- processes ---------------------------------------------------------------------------

    def command(self, node: int) -> list[str]:
        peers = ",".join(f"{i}={self.address(i)}" for i in self.ids)
        return [sys.executable, "-m", "raftoral.cli", "node", "--node-id", str(node),
                "--listen", self.address(node), "--data-dir", str(self.data_dir / f"n{node}"),
                "--peers", peers, "--metrics-port", str(self.metrics_port(node)),
                "--app", APP]  # fmt: skip

    def start(self, node: int) -> int:
        """Start (or restart, from its data dir) node `node`; returns its pid. Each node runs in
        its own session, so a Ctrl-C meant for the demo reaches the nodes only through it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, LEDGER_ENV: str(self.ledger)}
        with self.log_path(node).open("ab") as log:
            proc = subprocess.Popen(self.command(node), stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    env=env)  # fmt: skip
        self.procs[node] = proc
        self.started.append(proc.pid)
        return proc.pid

    def start_all(self) -> None:
        for node in self.ids:
            self.start(node)

    def kill(self, node: int) -> int:
        """SIGKILL node `node` and reap it; returns the pid it had."""
        proc = self.procs.pop(node)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        return proc.pid

    def pid(self, node: int) -> int:
        return self.procs[node].pid

    def check_alive(self) -> None:
        """Raise NodeExited if a node the demo did not kill has exited."""
        for node, proc in self.procs.items():
            code = proc.poll()
            if code is not None:
                raise NodeExited(
                    f"node {node} exited with code {code}: {self.last_log_line(node)} "
                    f"(log: {self.log_path(node)})"
                )

    def last_log_line(self, node: int) -> str:
        lines = self.log_path(node).read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "no output"

    def stop_all(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM every running node, wait up to `grace` seconds, then SIGKILL what is left."""
        running = [proc for proc in self.procs.values() if proc.poll() is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in running:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def port_free(port: int) -> bool:
    """Whether `port` can be bound on 127.0.0.1 the way the nodes bind it (SO_REUSEADDR, so a
    port in TIME_WAIT from an earlier run counts as free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True
