"""Execute notebooks and print the wall time of each cell and of the whole notebook (Binder budget: 60 s)."""

import sys
import time

import nbformat
from nbclient import NotebookClient

for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3")
    t0 = time.perf_counter()
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t = time.perf_counter()
            client.execute_cell(cell, i)
            print(f"{path} cell {i:2d}: {time.perf_counter() - t:6.2f}s  {cell.source.splitlines()[0][:60]}")
    print(f"{path}: {time.perf_counter() - t0:.1f}s in all")
