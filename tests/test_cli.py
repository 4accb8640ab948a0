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
    assert a.problems == ()


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


# -- every error a clear line, never a traceback ---------------------------------------------------------
def _make_run(path):
    from nasnb import CellSpace, Search
    from tests.helpers.objectives import planted_cell

    Search(CellSpace(), "random", planted_cell, budget=2, run_dir=path).run().close()


DAMAGED = {
    "run dir is a file": (lambda p: p.write_text("not a folder"), "is a file, not a directory"),
    "run.json is {}": (lambda p: (_make_run(p), (p / "run.json").write_text("{}")), "lacks space, strategy, evaluator"),
    "run.json is a list": (lambda p: (_make_run(p), (p / "run.json").write_text("[1, 2]")), "holds a JSON list"),
    "run.json is a folder": (lambda p: (p.mkdir(), (p / "run.json").mkdir()), "run.json is a directory"),
    "trials.jsonl is a folder": (
        lambda p: (_make_run(p), (p / "trials.jsonl").unlink(), (p / "trials.jsonl").mkdir()),
        "trials.jsonl is a directory",
    ),
    "run.json is not JSON": (lambda p: (_make_run(p), (p / "run.json").write_text("{oops")), "is not valid JSON"),
}


@pytest.mark.parametrize("command", ["resume", "show", "search"])
@pytest.mark.parametrize("damage", sorted(DAMAGED))
def test_a_damaged_or_odd_run_directory_is_one_clear_line(tmp_path, capsys, damage, command):
    make, fragment = DAMAGED[damage]
    path = tmp_path / "r"
    make(path)
    if command == "search":
        argv = ["search", "--run-dir", str(path), "--budget", "1", "--epochs", "1", "--strategy", "random"]
    else:
        argv = [command, str(path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    fragments = (fragment, "already holds a run") if command == "search" else (fragment,)
    assert any(f in err for f in fragments) and "Traceback" not in err and len(err.splitlines()) == 1, err


def test_an_empty_run_dir_is_refused_instead_of_writing_here(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["search", "--run-dir", "", "--budget", "1", "--epochs", "1"]) == 2
    assert "run_dir is empty" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--epochs", "0"], "Trainer parameter epochs must be an int >= 1, got 0"),
        (["--eval-param", "lr=-1"], "Trainer parameter lr must be a number > 0, got -1"),
        (["--eval-param", "lr=NaN"], "Trainer parameter lr must be a number > 0, got nan"),
        (["--evaluator", "table", "--space", "chain"], "holds cells of CellSpace()"),
        (["--trial-timeout", "0"], "trial_timeout must be a number of seconds > 0"),
    ],
)
def test_bad_settings_are_refused_before_the_first_trial(tmp_path, capsys, args, fragment):
    argv = ["search", "--run-dir", str(tmp_path / "r"), "--budget", "5", "--strategy", "random", *args]
    if "--epochs" not in args:
        argv += ["--epochs", "1"]
    assert main(argv) == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "r" / "trials.jsonl").exists()  # not one trial was spent


def test_a_cuda_device_without_a_gpu_is_refused_before_the_first_trial(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    argv = ["search", "--run-dir", str(tmp_path / "r"), "--budget", "5", "--eval-param", "device=cuda"]
    assert main(argv) == 2
    assert "torch sees no CUDA GPU here" in capsys.readouterr().err


def test_a_missing_dataset_fails_fast_with_exit_1_and_what_to_do(tmp_path, capsys, monkeypatch):
    import socket

    def offline(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")  # as on a machine without internet

    monkeypatch.setenv("NASNB_DATA", str(tmp_path / "no-data"))
    monkeypatch.setattr(socket, "getaddrinfo", offline)
    run = tmp_path / "r"
    argv = ["search", "--run-dir", str(run), "--budget", "20", "--dataset", "cifar10", "--epochs", "1"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "the first trial failed with: " in err and "DatasetUnavailableError: CIFAR10 is not available" in err
    assert f"continue with nasnb resume {run}" in err
    assert len(load_run(run).trials) == 1


def test_show_escapes_control_characters_from_the_log(tmp_path, capsys):
    from nasnb import CellSpace, Search

    def hostile(arch):
        raise ValueError("\x1b[2J\x1b]0;pwned\x07 cleared\r\nyour screen")

    Search(CellSpace(), "random", hostile, budget=1, run_dir=tmp_path / "r", fail_fast=None).run().close()
    assert main(["show", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out
    assert "\\x1b[2J\\x1b]0;pwned\\x07 cleared\\x0d\\nyour screen" in out


def test_show_says_when_a_run_is_live_and_who_writes_it(tmp_path, capsys):
    from nasnb import CellSpace, Search
    from tests.helpers.objectives import planted_cell

    search = Search(CellSpace(), "random", planted_cell, budget=3, run_dir=tmp_path / "r")
    search.step()
    assert main(["show", str(tmp_path / "r")]) == 0
    assert f"live: written by pid {os.getpid()}" in capsys.readouterr().out
    search.close()
    assert main(["show", str(tmp_path / "r")]) == 0
    assert "live:" not in capsys.readouterr().out


def test_resume_records_the_budget_in_force(tmp_path):
    run = tmp_path / "r"
    _make_run(run)
    from nasnb import resume_search
    from tests.helpers.objectives import planted_cell

    resume_search(run, planted_cell, budget=5).run().close()
    assert json.loads((run / "run.json").read_text())["budget"] == {"evaluations": 5, "seconds": None}
    again = resume_search(run, planted_cell)  # a crash after extending: plain resume knows the budget
    assert again.budget.evaluations == 5 and again.done
    again.close()
