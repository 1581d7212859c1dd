"""Entry point of `python -m raftoral.sim`; everything else lives in raftoral.sim.cli.

Exit code 0 when every seed passes, 1 on any violation, 2 on a usage error.
"""

from __future__ import annotations

import sys

from raftoral.sim.cli import main

sys.exit(main())
