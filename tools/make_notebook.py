"""Write a tutorial notebook from a plain-text outline: cells separated by lines '# %% [markdown]' / '# %%'.

Keeping tutorials as .py outlines in tools/notebooks/ makes them diffable and reviewable; this
script turns one into notebooks/<name>.ipynb with no outputs and no widget state.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat


def build(source: Path, target: Path) -> None:
    cells = []
    kind, lines = None, []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(text))
        elif kind == "code" and text.strip():
            cells.append(nbformat.v4.new_code_cell(text))

    for line in source.read_text().splitlines():
        if line.startswith("# %% [markdown]"):
            flush()
            kind, lines = "markdown", []
        elif line.startswith("# %%"):
            flush()
            kind, lines = "code", []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        else:
            lines.append(line)
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, target)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        src = Path(arg)
        build(src, Path("notebooks") / (src.stem + ".ipynb"))
        print(f"notebooks/{src.stem}.ipynb")
