"""The 1000-checkpoint loop: one node in this process runs `order_loop` from raftoral.demo.app
and reports how fast its checkpoints went through the durable Raft log.

python examples/order_loop.py --data-dir /tmp/loop-node [--lines 1000] [--listen 127.0.0.1:7411]

The workflow itself (a loop that sums a basket's lines, one `ctx.checkpoint` per line) is the
demo's, in raftoral/demo/app.py; a new owner resumes it mid-loop from the last committed subtotal.
"""

from __future__ import annotations

import argparse
import sys
import time

import actors
import raftoral
from raftoral.demo.app import Basket, app


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="the node's durable state")
    parser.add_argument("--listen", default="127.0.0.1:7411", help="the node's HOST:PORT")
    parser.add_argument("--lines", type=int, default=1000, help="checkpoints in the loop")
    parser.add_argument("--basket-id", default="b-1", help="the workflow id (idempotency key)")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> int:
    config = raftoral.NodeConfig(
        node_id=1, listen=args.listen, data_dir=args.data_dir, bootstrap=True
    )
    node = await raftoral.Node.start(config, app)
    try:
        started = time.perf_counter()
        handle = await node.start_workflow(
            "order_loop", Basket(args.basket_id, args.lines), workflow_id=args.basket_id
        )
        total = await handle.result(timeout=120.0)
        elapsed = time.perf_counter() - started
    finally:
        await node.stop()
    print(f"total: {total} cents over {args.lines} checkpoints")
    print(f"{args.lines / elapsed:,.0f} checkpoints/s ({elapsed:.2f} s, one durable node)")
    return 0


if __name__ == "__main__":
    sys.exit(actors.run(main(parse_args())))
