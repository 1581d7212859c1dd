"""A small actor runtime over ZeroMQ: actors, bounded mailboxes, a per-process bus, supervision."""
