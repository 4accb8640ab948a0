"""The course's graded exercises: outlines build a student and an instructor notebook, the committed
notebooks are those builds, students see "not answered" and never the answer, and nbgrader's own
``generate_assignment`` and ``autograde`` commands release the student notebook and give the
instructor's solutions full marks (and an untouched student notebook none)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from nasnb.grading import check, fingerprint

ROOT = Path(__file__).resolve().parents[1]
OUTLINES = sorted((ROOT / "tools" / "notebooks").glob("*.py"))
# The tutorials the course grades; other outlines may add graded cells in the same convention.
GRADED = ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16"]

_spec = importlib.util.spec_from_file_location("make_notebook", ROOT / "tools" / "make_notebook.py")
make_notebook = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_notebook)


def _graded_cells(nb, kind):
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith(kind)]


def _sources(nb):
    return [(c.cell_type, c.source) for c in nb.cells]


@pytest.mark.parametrize("outline", OUTLINES, ids=lambda p: p.stem)
def test_outline_builds_the_committed_student_and_instructor_notebooks(outline, tmp_path):
    student, instructor = tmp_path / "student.ipynb", tmp_path / "instructor.ipynb"
    graded = make_notebook.build(outline, student, instructor)
    committed_student, committed_instructor = make_notebook.targets(outline)
    built = nbformat.read(student, as_version=4)
    assert _sources(built) == _sources(nbformat.read(committed_student, as_version=4)), (
        f"{committed_student.name} is stale: run tools/make_notebook.py {outline.relative_to(ROOT)} and execute it"
    )
    if outline.stem[:2] in GRADED:
        assert graded and len(_graded_cells(built, "check_")) >= 2, f"{outline.stem}: needs 2-4 graded exercises"
    if not graded:
        return
    key = nbformat.read(instructor, as_version=4)
    assert _sources(key) == _sources(nbformat.read(committed_instructor, as_version=4))
    text = "\n".join(c.source for c in built.cells)
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "expect="):
        assert marker not in text, f"the student notebook of {outline.stem} shows {marker!r}"
    answers, checks = _graded_cells(key, "answer_"), _graded_cells(key, "check_")
    assert {c.metadata.nbgrader.grade_id[7:] for c in answers} == {c.metadata.nbgrader.grade_id[6:] for c in checks}
    assert all("strict=True" in c.source for c in checks)


@pytest.mark.parametrize("name", GRADED)
def test_committed_student_notebook_reports_every_check_not_answered(name):
    (path,) = (ROOT / "notebooks").glob(f"{name}_*.ipynb")
    checks = _graded_cells(nbformat.read(path, as_version=4), "check_")
    assert checks
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        found = re.findall(r"^Question \S+: (.*)$", text, re.M)
        assert found and all(f.startswith("not answered") for f in found), (path.name, cell.source, text)
        # the printed line is the whole answer: no "Out[n]: False" under it, which students read as a failure
        assert not [o for o in cell.outputs if o.output_type == "execute_result"], (path.name, cell.source)


def test_check_reports_without_revealing_and_strict_raises(capsys):
    key = fingerprint("9.9", 0.715, 3)
    assert check("9.9", 0.7151, digest=key, decimals=3)  # one unit in the last place either side
    assert not check("9.9", 0.72, digest=key, decimals=3, hint="look again")
    assert not check("9.9", ..., digest=key, decimals=3)
    out = capsys.readouterr().out.splitlines()
    assert out == ["Question 9.9: correct", "Question 9.9: not yet: look again", out[2]]
    assert "not answered" in out[2] and "0.715" not in "".join(out)
    with pytest.raises(AssertionError, match="not answered"):
        check("9.9", None, expect=0.715, decimals=3, strict=True)
    assert check("9.9", {3, 1}, expect=[1, 3]) and fingerprint("a", 1) != fingerprint("b", 1)
    assert check("9.9", 1, expect=1) == True and repr(check("9.9", 2, expect=1)) == "False"  # noqa: E712
    with pytest.raises(TypeError, match="exactly one"):
        check("9.9", 1)


def _nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]  # nbgrader runs `alembic`
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True, timeout=420
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.timeout(540)
@pytest.mark.parametrize("name", GRADED)
def test_nbgrader_releases_and_autogrades(name, tmp_path):
    pytest.importorskip("nbgrader")
    (source,) = (ROOT / "course" / "source").glob(f"{name}_*")
    lesson = source.name
    course = tmp_path / "course"
    shutil.copytree(source, course / "source" / lesson)
    shutil.copy(ROOT / "course" / "nbgrader_config.py", course)
    _nbgrader(course, "generate_assignment", lesson)
    released = nbformat.read(course / "release" / lesson / f"{lesson}.ipynb", as_version=4)
    student = nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)
    assert _sources(released) == _sources(student), "nbgrader would release something else than notebooks/"

    submissions = {"key": source / f"{lesson}.ipynb"}
    if name == "01":  # one untouched student notebook through the grader too (nbval runs all of them)
        submissions["untouched"] = ROOT / "notebooks" / f"{lesson}.ipynb"
    for who, path in submissions.items():
        (course / "submitted" / who / lesson).mkdir(parents=True)
        shutil.copy(path, course / "submitted" / who / lesson / f"{lesson}.ipynb")
    _nbgrader(course, "autograde", lesson, "--create")

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        key = gradebook.find_submission(lesson, "key")
        assert key.max_score >= 2 and key.score == key.max_score, f"the instructor's solutions score {key.score}"
        if "untouched" in submissions:
            assert gradebook.find_submission(lesson, "untouched").score == 0
