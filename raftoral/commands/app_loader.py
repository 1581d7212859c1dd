"""Loading the workflow App of `raftoral node --app MODULE[:ATTR]`: a dotted module importable
with the current directory on sys.path, or a path to a .py file; ATTR defaults to `app`."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from raftoral.node.config import ConfigError
from raftoral.workflow import App


def load_app(spec: str) -> App:
    target, _, attr = spec.partition(":")
    attr = attr or "app"
    module = _import(target, spec)
    app = getattr(module, attr, None)
    if not isinstance(app, App):
        found = "nothing" if app is None else f"a {type(app).__name__}"
        raise ConfigError(
            f"--app {spec}: {target}.{attr} is {found}, not a raftoral.App; name the App as"
            " MODULE:ATTR"
        )
    return app


def _import(target: str, spec: str) -> ModuleType:
    if target.endswith(".py") or os.sep in target:
        return _import_file(Path(target), spec)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"--app {spec}: cannot import {target!r} ({exc}); give a module importable from"
            f" {cwd} or a path to a .py file"
        ) from exc


def _import_file(path: Path, spec: str) -> ModuleType:
    if not path.is_file():
        raise ConfigError(f"--app {spec}: no such file {path}")
    name = f"raftoral_app_{path.stem}"
    loader_spec = importlib.util.spec_from_file_location(name, path.resolve())
    if loader_spec is None or loader_spec.loader is None:
        raise ConfigError(f"--app {spec}: {path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module  # before running it, so its Structs and dataclasses resolve
    loader_spec.loader.exec_module(module)
    return module
