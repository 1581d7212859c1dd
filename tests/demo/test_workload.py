"""The demo's pieces without processes: the app's charge ledger, the charge count and the order
inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftoral.demo.app import LEDGER_ENV, charge_card, line_price
from raftoral.demo.workload import count_charges, make_orders


def test_each_charge_appends_its_id_to_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = tmp_path / "charges.log"
    monkeypatch.setenv(LEDGER_ENV, str(ledger))
    first, second = charge_card("o-1", 300), charge_card("o-2", 450)
    charge_card("o-1", 300)
    counts = count_charges(ledger, [first, second, "ch_never"])
    assert counts == {first: 2, second: 1, "ch_never": 0}


def test_without_a_ledger_a_charge_only_returns_its_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LEDGER_ENV, raising=False)
    assert charge_card("o-1", 300) == charge_card("o-1", 300)
    assert count_charges(Path("/nonexistent/charges.log"), ["ch_x"]) == {"ch_x": 0}


def test_orders_are_unique_per_run_and_the_loop_total_is_fixed() -> None:
    a, b = make_orders(3, "run-a"), make_orders(3, "run-b")
    assert len(a) == 3 and not set(a) & set(b)
    assert sum(line_price(i) for i in range(1000)) == 548_200
