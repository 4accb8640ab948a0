"""Mutation test: break one line of core logic at a time and check that a test notices.

A test suite that passes whatever the code does is worth nothing; this script measures how much
of nasnb's core logic the tests really pin. Each mutant in ``tools/mutants.toml`` replaces one
line (found by its exact text) with a plausible bug and runs the test files named for it. A
mutant is **killed** when a test fails (or the run times out) and **survived** when all pass.
The score is killed / (killed + survived).

    python tools/mutation_test.py                          # every mutant, on the working tree
    python tools/mutation_test.py --module nasnb/strategies/qlearning.py
    python tools/mutation_test.py --only synflow-no-abs --only runlog-no-fsync
    python tools/mutation_test.py --ref 3f0a2b2            # code and tests as of a commit
    python tools/mutation_test.py --list                   # the mutants, without running

The tree (``git ls-files`` of the working tree, or ``git archive`` of ``--ref``) is copied to a
temporary directory and mutated there, so an interrupted run never leaves a broken file behind.
Each test run uses one torch thread and ``pytest -x`` (the first failure kills the mutant).
Before the mutants, the unmutated tree runs the same test files: a failing baseline would make
every mutant look killed, so the script stops there (``--no-baseline`` skips that check).

Why not mutmut or cosmic-ray: both generate every mutant of a module (hundreds for one
strategy) and run the suite for each, hours on a shared 2-core machine; mutmut 3 also rewrites
the package into a ``mutants/`` tree with trampolines, which hides the line a student would
break. A fixed list of meaningful single-line bugs, each tied to the tests that should catch
it, is what the issue asks to track; add one by copying a block in ``mutants.toml``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "tools" / "mutants.toml"


@dataclass(frozen=True)
class Mutant:
    """One single-line bug: where it goes, what it becomes, and which tests should catch it."""

    id: str
    file: str
    line: str
    new: str
    why: str
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What happened to one mutant: ``killed``, ``survived``, ``timeout`` or ``not-applicable``."""

    mutant: Mutant
    status: str
    seconds: float
    detail: str = ""


def load_mutants(path: Path = MUTANTS) -> list[Mutant]:
    """The mutants of a TOML list, checked for the fields the script needs and unique ids."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    mutants = []
    for i, entry in enumerate(data.get("mutant", []), start=1):
        missing = {"id", "file", "line", "new", "tests"} - set(entry)
        if missing:
            raise SystemExit(f"{path}: mutant #{i} lacks {sorted(missing)}")
        mutants.append(
            Mutant(entry["id"], entry["file"], entry["line"], entry["new"], entry.get("why", ""), tuple(entry["tests"]))
        )
    ids = [m.id for m in mutants]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{path}: duplicate mutant ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return mutants


def copy_tree(dest: Path, ref: str | None) -> None:
    """The project's files (tracked and untracked-but-not-ignored, or those of ``ref``) under ``dest``."""
    if ref:
        archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
        return
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def apply(tree: Path, mutant: Mutant) -> str | None:
    """Mutate the copy in place; returns the original text, or None when the line is not found once."""
    path = tree / mutant.file
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    hits = [i for i, raw in enumerate(lines) if raw.strip() == mutant.line.strip()]
    if len(hits) != 1:
        return None
    i = hits[0]
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    lines[i] = indent + mutant.new.strip() + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    return text


def run_tests(tree: Path, tests: tuple[str, ...], timeout: float, python: str) -> tuple[str, float, str]:
    """``(status, seconds, last line)`` of ``pytest -x`` on ``tests`` inside the copied tree.

    Test files missing from the tree (e.g. added after ``--ref``) are left out, so an older
    revision is measured with the tests it had.
    """
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    present = [t for t in tests if (tree / t.split("::")[0]).exists()]
    if not present:
        return "error", 0.0, f"none of {list(tests)} exists in this tree"
    cmd = [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--timeout", str(int(timeout)), *present]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start, f"no result in {timeout:.0f} s"
    seconds = time.perf_counter() - start
    tail = [line for line in done.stdout.strip().splitlines() if line.strip()]
    last = tail[-1] if tail else done.stderr.strip()[-200:]
    if done.returncode == 0:
        return "passed", seconds, last
    if done.returncode == 1:
        return "failed", seconds, last
    return "error", seconds, f"pytest exit {done.returncode}: {last}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutants", type=Path, default=MUTANTS, help="TOML list of mutants")
    parser.add_argument("--ref", help="git revision whose code and tests to mutate (default: the working tree)")
    parser.add_argument("--module", action="append", default=[], help="only mutants of this file (repeatable)")
    parser.add_argument("--only", action="append", default=[], help="only the mutant with this id (repeatable)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per test run (a timeout counts as killed)")
    parser.add_argument("--no-baseline", action="store_true", help="skip running the unmutated tests first")
    parser.add_argument("--json", type=Path, help="also write the outcomes here")
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--python", default=sys.executable, help="interpreter that has pytest and nasnb's dependencies")
    args = parser.parse_args(argv)

    mutants = load_mutants(args.mutants)
    if args.module:
        mutants = [m for m in mutants if m.file in args.module]
    if args.only:
        unknown = set(args.only) - {m.id for m in mutants}
        if unknown:
            raise SystemExit(f"unknown mutant id(s) {sorted(unknown)}; see --list")
        mutants = [m for m in mutants if m.id in args.only]
    if not mutants:
        raise SystemExit("no mutant matches; see --list")
    if args.list:
        for m in mutants:
            print(f"{m.id:28} {m.file}: {m.why}")
        return 0

    with tempfile.TemporaryDirectory(prefix="nasnb-mutants-") as tmp:
        tree = Path(tmp)
        copy_tree(tree, args.ref)
        where = args.ref or "working tree"
        if not args.no_baseline:
            files = tuple(sorted({t for m in mutants for t in m.tests}))
            status, seconds, last = run_tests(tree, files, args.timeout, args.python)
            print(f"baseline ({where}) {status} in {seconds:.0f} s: {last}", flush=True)
            if status != "passed":
                print("the unmutated tests do not pass; fix that first (or --no-baseline)", file=sys.stderr)
                return 2
        outcomes = []
        for m in mutants:
            original = apply(tree, m)
            if original is None:
                outcome = Outcome(m, "not-applicable", 0.0, f"line not found exactly once in {m.file}")
            else:
                try:
                    status, seconds, last = run_tests(tree, m.tests, args.timeout, args.python)
                finally:
                    (tree / m.file).write_text(original, encoding="utf-8")
                verdict = {"passed": "survived", "failed": "killed", "timeout": "timeout"}.get(status, "error")
                outcome = Outcome(m, verdict, seconds, last)
            outcomes.append(outcome)
            print(f"{outcome.status:15} {m.id:28} {outcome.seconds:6.0f} s  {outcome.detail}", flush=True)

    killed = sum(o.status in ("killed", "timeout") for o in outcomes)
    errors = [o for o in outcomes if o.status == "error"]
    survived = [o for o in outcomes if o.status == "survived"]
    skipped = [o for o in outcomes if o.status == "not-applicable"]
    scored = killed + len(survived)
    score = killed / scored if scored else float("nan")
    print(f"\nmutation score ({where}): {killed}/{scored} killed = {score:.0%}")
    if survived:
        print("survived: " + ", ".join(o.mutant.id for o in survived))
    if errors:
        print("errors (pytest could not run; not scored): " + ", ".join(o.mutant.id for o in errors))
    if skipped:
        print("not applicable (line changed since the list was written): " + ", ".join(o.mutant.id for o in skipped))
    if args.json:
        rows = [{"id": o.mutant.id, "file": o.mutant.file, "status": o.status, "seconds": o.seconds} for o in outcomes]
        args.json.write_text(json.dumps({"ref": where, "killed": killed, "scored": scored, "outcomes": rows}, indent=1))
    return 0 if not survived else 1


if __name__ == "__main__":
    sys.exit(main())
