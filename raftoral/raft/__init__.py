"""The pure Raft core (sans-IO): no sockets, clocks, randomness or asyncio; I/O leaves via Ready.

Driver loop:  core.step(msg) / core.tick() / core.propose(data)  ->  if core.has_ready():
    rd = core.ready(); send rd.messages; storage.save(...); send rd.messages_after_persist;
    apply rd.committed_entries; core.advance(rd)
"""
