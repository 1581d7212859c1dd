"""Fault injection of the transport: what a bus does to its outbound traffic to one peer.

Switched with `Bus.set_faults`, for partition and delay tests on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """Drop every request and one-way send to the peer, or (drop=False) delay each by `delay`
    seconds of the bus clock."""

    drop: bool = True
    delay: float = 0.0
