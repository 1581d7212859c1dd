"""The subcommands of `raftoral`, one module each; each exposes `register(subparsers)`."""
