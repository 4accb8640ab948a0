"""The nasnb command: search, kill -9 mid-run, resume to the same trajectory; show; bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from nasnb import load_run
from nasnb.cli import main

SEARCH = [
    "search",
    "--space",
    "cell",
    "--strategy",
    "evolution",
    "--param",
    "population_size=4",
    "--param",
    "tournament_size=2",
    "--dataset",
    "digits",
    "--epochs",
    "1",
    "--eval-param",
    'network={"channels": 4, "stages": 1}',
    "--seed",
    "3",
]


def nasnb(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "nasnb.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


def count_lines(path):
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_sigkill_mid_search_then_resume_follows_the_uninterrupted_trajectory(tmp_path):
    budget = "10"
    killed_dir, straight_dir = tmp_path / "killed", tmp_path / "straight"
    proc = nasnb(*SEARCH, "--budget", budget, "--run-dir", str(killed_dir))
    deadline = time.time() + 120
    while count_lines(killed_dir / "trials.jsonl") < 4 and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = count_lines(killed_dir / "trials.jsonl")
    assert 4 <= kept < 10

    resumed = nasnb("resume", str(killed_dir))
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "best: trial" in out

    straight = nasnb(*SEARCH, "--budget", budget, "--run-dir", str(straight_dir))
    out, err = straight.communicate(timeout=300)
    assert straight.returncode == 0, err

    a, b = load_run(killed_dir), load_run(straight_dir)
    assert [t.arch for t in a.trials] == [t.arch for t in b.trials]
    assert [t.metrics["accuracy"] for t in a.trials] == [t.metrics["accuracy"] for t in b.trials]
    assert a.problems == []


def test_show_summarises_best_trials_and_failures(tmp_path, capsys, planted):
    from nasnb import CellSpace, Search

    calls = []

    def sometimes(arch):
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("loss is nan")
        return planted(arch)

    Search(CellSpace(), "random", sometimes, budget=5, run_dir=tmp_path / "r").run().close()
    assert main(["show", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "5 trials: 4 ok, 1 failed" in out
    assert "ValueError: loss is nan" in out
    assert "best 4 by accuracy" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--strategy", "annealing"], "unknown strategy 'annealing'"),
        (["--dataset", "imagenet"], "imagenet"),
        (["--space", "graph"], "unknown space 'graph'"),
        (["--budget", "0"], "budget"),
        (["--param", "population_size"], "must be key=value"),
    ],
)
def test_bad_cli_input_names_the_problem(tmp_path, capsys, args, fragment):
    base = {"--strategy": "random", "--dataset": "digits", "--space": "cell", "--budget": "1"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    argv = ["search", "--run-dir", str(tmp_path / "r"), "--epochs", "1"]
    for flag, value in base.items():
        argv += [flag, value]
    if args[0] == "--param":
        argv += args
    assert main(argv) == 2
    assert fragment in capsys.readouterr().err


def test_resume_of_a_missing_run_is_explained(tmp_path, capsys):
    assert main(["resume", str(tmp_path / "nothing")]) == 2
    assert "nothing' does not exist" in capsys.readouterr().err


def test_resume_of_a_finished_run_says_how_to_extend(tmp_path, capsys):
    run = tmp_path / "r"
    assert (
        main(
            [
                "search",
                "--run-dir",
                str(run),
                "--budget",
                "1",
                "--epochs",
                "1",
                "--strategy",
                "random",
                "--eval-param",
                'network={"channels": 4, "stages": 1}',
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["resume", str(run)]) == 0
    assert "--budget" in capsys.readouterr().out
    assert json.loads((run / "run.json").read_text())["evaluator"]["name"] == "trainer"
