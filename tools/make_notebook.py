"""Write a tutorial's student and instructor notebooks from one plain-text outline.

Keeping tutorials as .py outlines in tools/notebooks/ makes them diffable and reviewable. Cells are
separated by lines ``# %% [markdown]`` / ``# %%``; graded exercises use two more cell kinds, in
nbgrader's convention (docs/course.md explains it):

``# %% [answer 2.1]``
    The student's cell. Whatever lies between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is the
    instructor's solution; the student notebook gets ``# YOUR CODE HERE`` instead, so the line before
    the markers (``q21 = ...``) is what a student starts from.
``# %% [check 2.1]`` (or ``[check 2.1 points=2]``)
    A locked, graded cell of ``check("2.1", answer, expect=VALUE, hint="...")`` calls. Each
    ``expect=`` literal is replaced by ``digest=`` (its fingerprint), so the answer appears nowhere in
    the student's notebook, and the same call with ``strict=True`` is appended as an nbgrader hidden
    test, which ``nbgrader autograde`` runs.

Outputs, with no outputs and no widget state:

- ``notebooks/<name>.ipynb`` — the student notebook (what nbgrader's ``generate_assignment`` releases);
- ``course/source/<name>/<name>.ipynb`` — the instructor's notebook, nbgrader's source version
  (only for outlines with graded cells).

    python tools/make_notebook.py tools/notebooks/02_evolution.py
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from nasnb.grading import fingerprint  # noqa: E402

HEADER = re.compile(r"^# %%(?: \[(?P<kind>markdown|answer|check)(?: (?P<qid>[\w.]+))?(?: points=(?P<points>\d+))?\])?")
SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$", re.S | re.M)
HIDDEN = re.compile(r"\n?^[ \t]*### BEGIN HIDDEN TESTS\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*$", re.S | re.M)
STUB = "# YOUR CODE HERE"
MARK = "# NBVAL_CHECK_OUTPUT"


def parse(source: Path) -> list[dict]:
    """The outline's cells as dicts: kind (markdown, code, answer, check), text, question id, points."""
    cells: list[dict] = []
    current: dict | None = None
    for line in source.read_text().splitlines():
        header = HEADER.match(line)
        if header:
            current = {"kind": header["kind"] or "code", "qid": header["qid"], "points": int(header["points"] or 1)}
            if current["kind"] in ("answer", "check") and not current["qid"]:
                raise ValueError(f"{source}: '{line}' needs a question id, e.g. '# %% [answer 2.1]'")
            current["lines"] = []
            cells.append(current)
        elif current is None:
            continue
        elif current["kind"] == "markdown":
            current["lines"].append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        else:
            current["lines"].append(line)
    for cell in cells:
        cell["text"] = "\n".join(cell.pop("lines")).strip("\n")
    return [c for c in cells if c["kind"] == "markdown" or c["text"].strip()]


def check_cell(text: str, where: str) -> str:
    """Instructor's check cell: digests where students look, the same checks as hidden strict tests."""
    tree = ast.parse(text)
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
    ]
    if not calls:
        raise ValueError(f"{where}: a check cell needs at least one check(...) call")
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def at(lineno: int, col: int) -> int:
        return offsets[lineno - 1] + len(lines[lineno - 1].encode()[:col].decode())

    visible, hidden = text, []
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset), reverse=True):
        keywords = {k.arg: k for k in call.keywords}
        if "expect" not in keywords or not call.args or not isinstance(call.args[0], ast.Constant):
            raise ValueError(f'{where}: write check("<question>", answer, expect=<literal>, hint=...)')
        question = call.args[0].value
        decimals = ast.literal_eval(keywords["decimals"].value) if "decimals" in keywords else None
        expected = ast.literal_eval(keywords["expect"].value)
        kw = keywords["expect"]
        start, end = at(kw.lineno, kw.col_offset), at(kw.end_lineno, kw.end_col_offset)
        call_text = text[at(call.lineno, call.col_offset) : at(call.end_lineno, call.end_col_offset)]
        hidden.insert(0, call_text[:-1].rstrip().rstrip(",") + ", strict=True)")
        visible = visible[:start] + f'digest="{fingerprint(question, expected, decimals)}"' + visible[end:]
    return f"{MARK}\n{visible}\n### BEGIN HIDDEN TESTS\n" + "\n".join(hidden) + "\n### END HIDDEN TESTS"


def _nbgrader(kind: str, qid: str, points: int) -> dict:
    grade_id = ("answer_" if kind == "answer" else "check_") + qid.replace(".", "_")
    meta = {"grade_id": grade_id, "schema_version": 3, "task": False}
    if kind == "answer":
        return meta | {"grade": False, "locked": False, "solution": True}
    return meta | {"grade": True, "locked": True, "solution": False, "points": points}


def student_source(text: str) -> str:
    """What nbgrader's generate_assignment releases (with ClearSolutions.code_stub = '# YOUR CODE HERE')."""
    return HIDDEN.sub("", SOLUTION.sub(STUB, text))


def build(source: Path, student: Path, instructor: Path | None) -> bool:
    """Write both notebooks; return whether the outline has graded cells (else no instructor notebook)."""
    instructor_cells, student_cells = [], []
    graded = False
    for n, cell in enumerate(parse(source)):
        where = f"{source}, cell {n}"
        if cell["kind"] == "markdown":
            instructor_cells.append(nbformat.v4.new_markdown_cell(cell["text"]))
            student_cells.append(nbformat.v4.new_markdown_cell(cell["text"]))
            continue
        text = cell["text"]
        if cell["kind"] == "check":
            text = check_cell(text, where)
        if cell["kind"] == "answer" and not SOLUTION.search(text):
            raise ValueError(f"{where}: an answer cell needs ### BEGIN SOLUTION / ### END SOLUTION")
        meta = {}
        if cell["kind"] in ("answer", "check"):
            graded = True
            meta = {"nbgrader": _nbgrader(cell["kind"], cell["qid"], cell["points"])}
        instructor_cells.append(nbformat.v4.new_code_cell(text, metadata=meta))
        student_cells.append(nbformat.v4.new_code_cell(student_source(text), metadata=meta))
    for cells, target in ((student_cells, student), (instructor_cells, instructor if graded else None)):
        if target is None:
            continue
        nb = nbformat.v4.new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    return graded


def targets(outline: Path, root: Path = ROOT) -> tuple[Path, Path]:
    """Where an outline's student and instructor notebooks go."""
    name = outline.stem
    return root / "notebooks" / f"{name}.ipynb", root / "course" / "source" / name / f"{name}.ipynb"


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        student_path, instructor_path = targets(Path(arg))
        graded = build(Path(arg), student_path, instructor_path)
        print(
            student_path.relative_to(ROOT), f"+ {instructor_path.relative_to(ROOT)}" if graded else "(no graded cells)"
        )
