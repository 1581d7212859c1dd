"""How `raftoral describe` and `raftoral list` show runs: JSON (input and result decoded) for
programs, rich tables for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgspec
from rich import box
from rich.console import Console
from rich.table import Table

from raftoral.wire import WorkflowSummary

EXIT_FAILED = 1  # the workflow failed (DESIGN.md section 3)
COLUMNS = ("workflow_id", "name", "version", "status", "owner", "checkpoints")


def as_json(value: Any) -> str:
    """One line of JSON of msgspec builtins (bytes as base64, like msgspec does)."""
    return msgspec.json.encode(value).decode()


def summary_dict(summary: WorkflowSummary) -> dict[str, Any]:
    report = msgspec.structs.asdict(summary)
    report["input"] = msgspec.msgpack.decode(summary.input)
    report["result"] = None if summary.result is None else msgspec.msgpack.decode(summary.result)
    report["notes"] = list(summary.notes)
    return report


def print_json(value: Any) -> None:
    print(json.dumps(json.loads(as_json(value)), indent=2))


def print_summary(summary: WorkflowSummary) -> None:
    table = Table(box=box.SIMPLE, show_header=False)
    for key, value in summary_dict(summary).items():
        if value not in (None, "", []):
            table.add_row(key, as_json(value) if key in ("input", "result") else str(value))
    Console().print(table)


def print_table(summaries: Sequence[WorkflowSummary]) -> None:
    table = Table(box=box.SIMPLE)
    for column in COLUMNS:
        table.add_column(column)
    for summary in summaries:
        table.add_row(*(str(getattr(summary, column)) for column in COLUMNS))
    Console().print(table)
