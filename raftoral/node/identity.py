"""The node's identity file in its data dir: node id and cluster uid, written once (atomically),
checked at every start so a data dir never changes node or cluster by accident."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import msgspec

from raftoral.node.config import ConfigError

FILE_NAME = "identity.json"


class Identity(msgspec.Struct, frozen=True):
    node_id: int
    cluster_uid: str


def new_cluster_uid() -> str:
    """A fresh cluster uid for `--bootstrap`."""
    return uuid.uuid4().hex


def peers_cluster_uid(peers: dict[int, str]) -> str:
    """The uid every node started with the same `--peers` derives alike."""
    spec = ",".join(f"{node}={peers[node]}" for node in sorted(peers))
    return "peers-" + hashlib.sha256(spec.encode()).hexdigest()[:24]


def load(data_dir: Path) -> Identity | None:
    path = data_dir / FILE_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return msgspec.json.decode(raw, type=Identity)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{path} is corrupt ({exc}); restore it or use a new data dir") from exc


def save(data_dir: Path, identity: Identity) -> None:
    """Write the file durably: temp file, fsync, rename, fsync of the directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path, tmp = data_dir / FILE_NAME, data_dir / (FILE_NAME + ".tmp")
    with tmp.open("wb") as file:
        file.write(msgspec.json.encode(identity))
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)
    fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check(found: Identity, node_id: int | None, cluster_uid: str | None, data_dir: Path) -> None:
    """Refuse a data dir of another node or another cluster than the flags say."""
    if node_id is not None and node_id != found.node_id:
        raise ConfigError(
            f"data dir {data_dir} belongs to node {found.node_id}, not {node_id}; "
            f"drop --node-id or use another data dir"
        )
    if cluster_uid is not None and cluster_uid != found.cluster_uid:
        raise ConfigError(
            f"data dir {data_dir} belongs to cluster {found.cluster_uid}, not {cluster_uid} "
            "(the one these flags or seeds name); use another data dir"
        )
