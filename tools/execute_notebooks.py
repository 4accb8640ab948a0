"""Execute tutorials and keep only the outputs nbval checks.

Cells whose first line is ``# NBVAL_CHECK_OUTPUT`` keep their (text) outputs and execution
count, so ``pytest --nbval-lax`` really compares them; every other cell is stored empty, and
widget state is dropped. Run after editing a tutorial:

    python tools/make_notebook.py tools/notebooks/02_evolution.py
    python tools/execute_notebooks.py notebooks/02_evolution.ipynb
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "# NBVAL_CHECK_OUTPUT"
KEEP = ("text/plain",)


def execute(path: Path) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith(MARK):
            cell.outputs = [kept for o in cell.outputs if (kept := _text_only(o)) is not None]
        else:
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


def _text_only(output):
    if output.output_type in ("stream", "error"):
        return output
    data = {k: v for k, v in output.get("data", {}).items() if k in KEEP}
    if not data:
        return None
    output["data"] = data
    output["metadata"] = {}
    return output


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        execute(Path(arg))
        print(arg)
