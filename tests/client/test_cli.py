"""The `raftoral kv` and `raftoral cluster` commands as processes against a real 3-node cluster:
output, `--json` schema, removing a follower, and exit codes (0, 1 not found, 2, 3)."""

from __future__ import annotations

import json
from typing import Any

from tests.client.conftest import NODES, dead_address, run_cli
from tests.process.cluster import ProcessCluster

MEMBER_KEYS = {"node_id", "address", "membership", "role", "term", "commit", "applied",
               "last_index", "match"}  # fmt: skip


def cluster_json(connect: str) -> dict[str, Any]:
    done = run_cli("cluster", "--json", "--connect", connect)
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


async def test_kv_put_get_delete_through_different_nodes(cluster3: ProcessCluster) -> None:
    put = run_cli("kv", "put", "greeting", "héllo", "--connect", cluster3.address(2))
    assert put.returncode == 0, put.stderr
    connect = f"{dead_address()},{cluster3.address(3)}"
    got = run_cli("kv", "get", "greeting", "--connect", connect)
    assert (got.returncode, got.stdout) == (0, "héllo\n"), got.stderr
    assert run_cli("kv", "delete", "greeting", "--connect", cluster3.address(1)).returncode == 0
    missing = run_cli("kv", "get", "greeting", "--local", "--connect", cluster3.address(1))
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr.count("\n") == 1 and "not found" in missing.stderr


async def test_cluster_json_lists_every_member_and_one_leader(cluster3: ProcessCluster) -> None:
    report = cluster_json(cluster3.address(1))
    [cluster] = report["clusters"]
    assert cluster["cluster"] == 1 and cluster["cluster_uid"]
    members = cluster["members"]
    assert [member["node_id"] for member in members] == list(NODES)
    assert all(set(member) == MEMBER_KEYS for member in members)
    assert all(member["membership"] == "voter" for member in members)
    leaders = [member["node_id"] for member in members if member["role"] == "leader"]
    assert leaders == [cluster["leader"]]
    table = run_cli("cluster", "--connect", cluster3.address(2))
    assert table.returncode == 0, table.stderr
    assert "leader" in table.stdout and cluster3.address(3) in table.stdout


async def test_cluster_remove_of_a_follower(cluster3: ProcessCluster) -> None:
    leader = await cluster3.leader(NODES)
    follower = next(slot for slot in NODES if slot != leader)
    connect = cluster3.address(follower)  # the removal itself goes through the follower
    removed = run_cli("cluster", "remove", str(follower), "--connect", connect)
    assert removed.returncode == 0, removed.stderr
    rest = [slot for slot in NODES if slot != follower]
    report = cluster_json(",".join(cluster3.address(slot) for slot in rest))
    assert [m["node_id"] for m in report["clusters"][0]["members"]] == rest
    unknown = run_cli("cluster", "remove", "99", "--connect", cluster3.address(leader))
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1, unknown.stderr


def test_no_node_reachable_exits_3_with_one_line() -> None:
    done = run_cli("kv", "get", "key", "--connect", f"{dead_address()},{dead_address()}")
    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr.count("\n") == 1 and "no node reachable" in done.stderr


def test_bad_usage_exits_2() -> None:
    for args in (["kv", "put", "only-a-key"], ["cluster", "remove", "one"], ["kv", "frobnicate"],
                 ["kv", "get", "k", "--connect", "no-port"]):  # fmt: skip
        done = run_cli(*args)
        assert done.returncode == 2, (args, done)
        assert done.stderr.strip(), args


def test_every_command_has_help() -> None:
    for args in (["cluster"], ["cluster", "remove"], ["kv"], ["kv", "put"], ["kv", "get"],
                 ["kv", "delete"]):  # fmt: skip
        done = run_cli(*args, "--help")
        assert done.returncode == 0 and "usage: raftoral" in done.stdout, args
