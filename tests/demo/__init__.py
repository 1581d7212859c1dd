"""Tests of `raftoral demo` run as a real command, with its node processes."""
