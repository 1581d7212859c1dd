"""The identity file and the node configuration checks: a data dir never changes node or cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftoral.node import identity
from raftoral.node.config import ConfigError, NodeConfig, parse_addresses, parse_peers
from raftoral.node.identity import Identity


def test_identity_round_trips_and_is_checked(tmp_path: Path) -> None:
    assert identity.load(tmp_path) is None
    ident = Identity(3, "abc")
    identity.save(tmp_path, ident)
    assert identity.load(tmp_path) == ident
    identity.check(ident, None, None, tmp_path)
    identity.check(ident, 3, "abc", tmp_path)
    with pytest.raises(ConfigError, match="belongs to node 3, not 4"):
        identity.check(ident, 4, None, tmp_path)
    with pytest.raises(ConfigError, match="belongs to cluster abc"):
        identity.check(ident, 3, "other", tmp_path)


def test_corrupt_identity_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / identity.FILE_NAME).write_text("{not json")
    with pytest.raises(ConfigError, match="corrupt"):
        identity.load(tmp_path)


def test_peers_uid_is_the_same_for_every_member() -> None:
    a = identity.peers_cluster_uid({1: "h:1", 2: "h:2"})
    assert a == identity.peers_cluster_uid({2: "h:2", 1: "h:1"})
    assert a != identity.peers_cluster_uid({1: "h:1", 2: "h:3"})


def test_config_parsing_and_validation() -> None:
    assert parse_peers("1=h:1, 2=h:2") == {1: "h:1", 2: "h:2"}
    assert parse_addresses("h:1,h:2") == ("h:1", "h:2")
    for bad in ("1=h", "x=h:1", ""):
        with pytest.raises(ConfigError):
            parse_peers(bad)
    ok = NodeConfig(listen="h:1", data_dir="d", node_id=1, bootstrap=True)
    ok.validate()
    bad_configs = [
        NodeConfig(listen="h:1", data_dir="d", node_id=1),  # no mode
        NodeConfig(listen="h:1", data_dir="d", bootstrap=True),  # no id
        NodeConfig(listen="h:1", data_dir="d", node_id=1, peers={2: "h:2"}),  # self missing
        NodeConfig(listen="nope", data_dir="d", node_id=1, bootstrap=True),
    ]
    for config in bad_configs:
        with pytest.raises(ConfigError):
            config.validate()
    NodeConfig(listen="h:1", data_dir="d", join=("h:2",)).validate()  # id assigned by the cluster
