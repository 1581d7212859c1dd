"""A payments workflow: validate an order, charge it once (a side effect through
checkpoint_compute), issue a receipt. Every node runs it: `raftoral node --app examples/payments.py`

raftoral start process_order --input '{"order_id": "o-1", "item": "tea", "qty": 2}'

The workflow is the one `raftoral demo` runs, defined once in raftoral/demo/app.py (read it
there: `process_order` is about fifteen lines); this module gives it the example's name.
"""

from __future__ import annotations

from raftoral.demo.app import Order, Receipt, app, process_order

__all__ = ["Order", "Receipt", "app", "process_order"]
