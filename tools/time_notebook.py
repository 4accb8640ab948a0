"""Execute notebooks and print the wall time of each cell, of the whole notebook (Binder budget:
60 s) and the kernel's peak memory (Binder budget: 1.5 GB). One torch thread per kernel, two
kernels would fit Binder's two cores.

    python tools/time_notebook.py notebooks/*.ipynb
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

PEAK = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"  # KiB on Linux

os.environ.setdefault("OMP_NUM_THREADS", "1")
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(Path(path).parent)}}
    )
    t0 = time.perf_counter()
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t = time.perf_counter()
            client.execute_cell(cell, i)
            print(f"{path} cell {i:2d}: {time.perf_counter() - t:6.2f}s  {cell.source.splitlines()[0][:60]}")
        seconds = time.perf_counter() - t0
        probe = nbformat.v4.new_code_cell(PEAK)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
        peak_mb = int(probe.outputs[0]["text"]) / 1024
    print(f"{path}: {seconds:.1f}s in all, kernel peak RSS {peak_mb:.0f} MB")
