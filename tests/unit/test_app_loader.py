"""`raftoral node --app`: a dotted module importable from the current directory or a .py path,
ATTR defaulting to `app`, and one clear error for each way it can be wrong."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from raftoral.commands.app_loader import load_app
from raftoral.node.config import ConfigError
from tests.conftest import ROOT


def test_a_dotted_module_or_a_file_path_loads_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # the loader adds the cwd
    monkeypatch.chdir(ROOT)
    assert "process_order" in load_app("examples.payments").registry.names()
    by_path = load_app(str(ROOT / "examples" / "payments.py") + ":app")
    assert by_path is load_app("raftoral.demo.app")  # the example names the demo's app


def test_bad_specs_say_what_is_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="cannot import 'no_such_module'"):
        load_app("no_such_module")
    with pytest.raises(ConfigError, match="no such file"):
        load_app("missing.py")
    (tmp_path / "other.py").write_text("app = 42\n")
    with pytest.raises(ConfigError, match=r"is a int, not a raftoral\.App"):
        load_app("other.py")
