"""The side panel's TypeScript unit tests (message validation, the model's state machine, runs
listed as text), compiled and run with Node's built-in test runner so pytest fails when they do."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[1] / "labextension"


def _jlpm() -> str:
    """jlpm comes with jupyterlab (via jupyter-builder); prefer the one beside this Python."""
    beside = Path(sys.executable).with_name("jlpm")
    return str(beside) if beside.exists() else (shutil.which("jlpm") or "")


def _run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [_jlpm(), *args], cwd=EXTENSION, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_typescript_unit_tests_pass():
    missing = [name for name, found in (("node", shutil.which("node")), ("jlpm", _jlpm())) if not found]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} not found: CI must run the labextension's unit tests")
        pytest.skip(f"{', '.join(missing)} not found: install Node.js 18+ and jupyterlab to run the TypeScript tests")
    if not (EXTENSION / "node_modules" / "typescript").is_dir():
        install = _run("install", timeout=600)
        assert install.returncode == 0, install.stdout[-4000:] + install.stderr[-4000:]
    result = _run("test", timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "# fail 0" in output, output[-8000:]


def test_jupyterlab_lists_the_prebuilt_panel_as_enabled():
    """The install put the built extension where JupyterLab finds prebuilt ones, and it loads."""
    result = subprocess.run(
        [sys.executable, "-m", "jupyter", "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    line = next((row for row in listing.splitlines() if "nasnb-explorer" in row), "")
    assert re.search(r"nasnb-explorer v\S+ enabled OK \(python, nasnb\)", line), listing
