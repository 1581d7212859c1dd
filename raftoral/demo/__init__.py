"""The demo shipped with the package, so `raftoral demo` works from any directory."""
