"""Actor addresses: `node_id/actor_name`, the unit every send and ask is aimed at.

A frozen msgspec Struct, so it travels inside envelopes as a two-element array.
"""

from __future__ import annotations

import msgspec

from actors.errors import ActorsError


class Address(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Where an actor lives: the node id of its bus and its name there."""

    node: int
    name: str

    def __str__(self) -> str:
        return f"{self.node}/{self.name}"

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse `"2/echo"`; raises `ActorsError` (code `bad_address`) with the expected form."""
        node, sep, name = text.partition("/")
        if not sep or not name or not node.isdigit():
            raise ActorsError(
                f"bad address {text!r}: expected NODE_ID/ACTOR_NAME, e.g. '2/echo'",
                code="bad_address",
            )
        return cls(int(node), name)
