"""Fixtures for browser tests: Debian's Chromium driven by Playwright, and a private JupyterLab.

Playwright's own browser downloads fail on machines without internet, so the system Chromium
is used. Without it the tests skip, except under ``CI`` where a skipped browser test would hide
a broken panel, so they fail instead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so browser tests may not be skipped)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of the system Chromium, after checking Playwright is importable."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        _unavailable("Chromium not found: apt-get install -y chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright not installed: pip install -e '.[test]'")
    return path


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """``test-artifacts/`` at the repository root (git-ignored): screenshots to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# Console messages JupyterLab itself logs at error level in a healthy session; each with why it
# is not a nasnb or bqplot problem. Anything else logged as an error fails the test that saw it.
ALLOWED_CONSOLE = {
    # A kernel restart closes the comms of every widget the old kernel owned; the widget manager
    # logs each closed channel it still held (JupyterLab's own, after a restart the test asked for).
    "Kernel restarted": "JupyterLab reports the restart the test requested",
    "Comm not found for comm id": "JupyterLab's widget manager after a kernel restart drops the old comms",
    "Could not restore the debugger state": (
        "JupyterLab's debugger asks a kernel for its state; a restart cancels that request"
    ),
    "Failed to load resource: the server responded with a status of 404": (
        "JupyterLab probes optional endpoints (translations, workspaces, lab API extensions) that return 404"
    ),
}


def _allowed(text: str) -> bool:
    return any(marker in text for marker in ALLOWED_CONSOLE)


@pytest.fixture(scope="session")
def chromium(chromium_executable: str) -> Iterator[object]:
    """One headless Chromium for the whole session (each test gets its own context and page)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


CONSOLE_LOG: list[str] = []


@pytest.fixture
def browser_page(chromium, request, artifacts_dir: Path) -> Iterator[object]:
    """A fresh Chromium page (1400x900, its own context) that records JavaScript dialogs (alerts,
    prompts) in ``page.dialogs`` and every console error and uncaught exception in
    ``page.console_errors`` (those not allowed by ``ALLOWED_CONSOLE``); leaving the page is
    always allowed. The whole session's errors are written to ``test-artifacts/console.txt``."""
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.console_errors = []
    page.console_allowed = []

    def on_dialog(dialog) -> None:
        if dialog.type == "beforeunload":  # JupyterLab's "leave with unsaved changes?"
            dialog.accept()
            return
        page.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def record(text: str) -> None:
        (page.console_allowed if _allowed(text) else page.console_errors).append(text)
        CONSOLE_LOG.append(f"{request.node.name}: {'allowed ' if _allowed(text) else ''}{text}")

    def on_console(message) -> None:
        if message.type == "error" or "Error setting state" in message.text:
            record(f"console.{message.type}: {message.text}")

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: record(f"pageerror: {error}"))
    try:
        yield page
    finally:
        (artifacts_dir / "console.txt").write_text("\n".join(CONSOLE_LOG) + "\n")
        context.close()


@dataclass(frozen=True)
class LabServer:
    """A running JupyterLab: ``url(path)`` adds the token; ``log()`` is its output so far."""

    base: str
    token: str
    root: Path
    log_file: Path

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={self.token}"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")[-6000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _isolated_env(home: Path) -> dict[str, str]:
    """Jupyter's config, data, settings and workspaces in ``home``, so no user state leaks in."""
    env = dict(os.environ)
    for name, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("IPYTHONDIR", "ipython"),
    ]:
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / sub)
    # The news/update toast would ask for network access and cover the side panel.
    labconfig = home / "config" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    disabled = {"@jupyterlab/apputils-extension:announcements": True}
    (labconfig / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled}))
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """One JupyterLab for the session on a free 127.0.0.1 port, with a token, serving a temporary
    root; each test works in its own folder (``lab_folder``), so their runs never mix."""
    tmp_path = tmp_path_factory.mktemp("lab")
    root = tmp_path / "root"
    root.mkdir()
    port, token = _free_port(), secrets.token_hex(16)
    log_file = tmp_path / "jupyterlab.log"
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
    ]
    with log_file.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_isolated_env(tmp_path / "home"))
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log_file)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(server.url("/api/status"), timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{server.log()}") from None
                time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def lab_folder(lab_server: LabServer, request) -> str:
    """A fresh folder under the server's root named after the test; returns its path relative to
    the root (notebooks put there run their kernels in it, so ``runs/`` lands beside them)."""
    name = request.node.name.replace("[", "-").replace("]", "")
    (lab_server.root / name).mkdir()
    return name
