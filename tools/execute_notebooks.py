"""Execute tutorials and keep the outputs nbval checks plus the static figures.

Cells whose first line is ``# NBVAL_CHECK_OUTPUT`` keep their (text) outputs and execution
count, so ``pytest --nbval-lax`` really compares them; every other cell keeps only its PNG images
(matplotlib figures), so a repository viewer shows the plots while ``--nbval-lax`` ignores them.
Widget views and widget state are dropped. Run after editing a tutorial:

    python tools/make_notebook.py tools/notebooks/02_evolution.py
    python tools/execute_notebooks.py notebooks/02_evolution.ipynb
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "# NBVAL_CHECK_OUTPUT"
KEEP = ("text/plain",)
IMAGE = "image/png"


PEAK = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"  # KiB on Linux


def execute(path: Path) -> tuple[float, float]:
    """Run the notebook in place; return its wall time (s) and the kernel's peak memory (MB)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
        seconds = time.perf_counter() - start
        probe = nbformat.v4.new_code_cell(PEAK)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
        nb.cells.pop()
        peak_mb = int(probe.outputs[0]["text"]) / 1024
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith(MARK):
            cell.outputs = [kept for o in cell.outputs if (kept := _text_only(o)) is not None]
        else:
            cell.outputs = [kept for o in cell.outputs if (kept := _image_only(o)) is not None]
            if not cell.outputs:  # nbval refuses stored outputs on a cell marked as never run
                cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return seconds, peak_mb


def _image_only(output):
    if output.output_type not in ("display_data", "execute_result") or IMAGE not in output.get("data", {}):
        return None
    return nbformat.v4.new_output("display_data", data={IMAGE: output["data"][IMAGE]})


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
        seconds, peak_mb = execute(Path(arg))
        print(
            f"{arg}: {seconds:.1f}s, kernel peak RSS {peak_mb:.0f} MB (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']})"
        )
