"""NodeConfig: everything a node is started with (the `raftoral node` flags and the Python API),
and the parsing of host:port and peer lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from raftoral.errors import RaftoralError
from raftoral.wire import MAX_NODE_ID


class ConfigError(RaftoralError):
    """A node cannot start with this configuration; the message says what to change."""

    code = "bad_config"


@dataclass(frozen=True)
class RaftTiming:
    """Raft timing and log-size knobs of a node's group (tests shorten them)."""

    tick_interval: float = 0.01  # seconds per Raft tick
    election_tick: int = 15  # elections after 15..30 ticks without a leader (150-300 ms)
    heartbeat_tick: int = 2
    snapshot_entries: int = 50_000  # compact once this many applied entries are in the log,
    snapshot_bytes: int = 64 << 20  # or once the commands applied since the snapshot reach this
    max_voters: int = 5  # learners are promoted while the cluster has fewer voters
    max_inflight_msgs: int = 256
    max_snapshot_chunk: int = 1 << 20
    shutdown_transfer_timeout: float = 2.0  # how long a leader waits to hand over at shutdown


@dataclass(frozen=True)
class NodeConfig:
    """One node. Exactly one of `bootstrap`, `peers` or `join` says how it first starts; after
    that the data dir's identity wins (a restart uses the same flags or any of them)."""

    listen: str
    data_dir: str | Path
    node_id: int | None = None
    bootstrap: bool = False
    peers: dict[int, str] = field(default_factory=dict)
    join: tuple[str, ...] = ()
    metrics_port: int | None = None
    timing: RaftTiming = RaftTiming()

    def validate(self) -> None:
        parse_host_port(self.listen)
        modes = sum((self.bootstrap, bool(self.peers), bool(self.join)))
        if modes != 1:
            raise ConfigError("give exactly one of --bootstrap, --peers or --join")
        if self.node_id is None and not self.join:
            raise ConfigError("--node-id is required with --bootstrap and --peers")
        if self.node_id is not None and not 0 < self.node_id <= MAX_NODE_ID:
            raise ConfigError(f"node id must be in 1..{MAX_NODE_ID}, got {self.node_id}")
        if self.peers and self.node_id not in self.peers:
            raise ConfigError(
                f"--peers must list every initial member, this node ({self.node_id}) included"
            )
        for address in (*self.peers.values(), *self.join):
            parse_host_port(address)

    @property
    def path(self) -> Path:
        return Path(self.data_dir)


def parse_host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"bad address {text!r}: expected HOST:PORT, e.g. 127.0.0.1:7101")
    return host, int(port)


def parse_peers(text: str) -> dict[int, str]:
    """`1=127.0.0.1:7101,2=127.0.0.1:7102` -> {1: "127.0.0.1:7101", 2: "127.0.0.1:7102"}."""
    peers: dict[int, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        node, sep, address = item.partition("=")
        if not sep or not node.isdigit():
            raise ConfigError(f"bad peer {item!r}: expected ID=HOST:PORT, e.g. 1=127.0.0.1:7101")
        parse_host_port(address)
        peers[int(node)] = address
    if not peers:
        raise ConfigError("--peers is empty: expected ID=HOST:PORT,...")
    return peers


def parse_addresses(text: str) -> tuple[str, ...]:
    addresses = tuple(filter(None, (part.strip() for part in text.split(","))))
    for address in addresses:
        parse_host_port(address)
    if not addresses:
        raise ConfigError("--join is empty: expected HOST:PORT,...")
    return addresses
