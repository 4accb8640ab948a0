"""A run exported with `nasnb export-optuna` opens in optuna-dashboard, in real Chromium, with its best trial."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nasnb import CellSpace, Search, load_run
from nasnb.cli import main
from nasnb.evaluation import TableEvaluator

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dashboard(tmp_path):
    """An exported 20-trial run and optuna-dashboard serving its storage: (base url, run)."""
    pytest.importorskip("optuna_dashboard")
    run_dir = tmp_path / "evo"
    search = Search(CellSpace(), "evolution", TableEvaluator("digits"), budget=20, seed=3, run_dir=run_dir)
    search.run()
    search.close()
    storage = f"sqlite:///{tmp_path / 'evo.db'}"
    assert main(["export-optuna", str(run_dir), "--storage", storage]) == 0
    port = _free_port()
    script = Path(sys.executable).with_name("optuna-dashboard")
    log = open(tmp_path / "dashboard.log", "w")
    process = subprocess.Popen(
        [str(script), storage, "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/studies", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"optuna-dashboard did not start:\n{(tmp_path / 'dashboard.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield base, load_run(run_dir)
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_exported_run_shows_in_optuna_dashboard_with_its_best_trial(dashboard, browser_page, artifacts_dir):
    base, run = dashboard
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{base}/dashboard")
    page.get_by_text("1. evo").first.wait_for(timeout=30_000)  # the study list: number, name
    assert "Direction: MAXIMIZE" in page.inner_text("body")
    page.screenshot(path=str(artifacts_dir / "optuna_dashboard_studies.png"))
    page.goto(f"{base}/dashboard/studies/1")
    best = run.best()
    number = run.trials.index(best)  # Optuna numbers trials in the order they were added
    page.get_by_text(f"Best Trial (number={number})").first.wait_for(timeout=30_000)
    page.get_by_text("Intermediate values").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # let the charts draw before the screenshot a person would look at
    page.screenshot(path=str(artifacts_dir / "optuna_dashboard_study.png"), full_page=True)
    text = page.inner_text("body")
    params = ", ".join(f"{k}: {v}" for k, v in CellSpace().parse(best.arch).items())
    assert f"Params = [{params}]" in text
    assert f"{best.score():.6f}"[:7] in text  # the best value as the dashboard prints it (float32 digits)
    assert "nasnb_config" in text  # the run's configuration travels as a study attribute
    assert errors == []
