"""Build the example notebooks from their sources in `notebooks/src/*.py` and run them.

Each source is a Python file in "percent" format: `# %%` starts a code cell,
`# %% [markdown]` a markdown cell (its lines are `# `-comments). A cell whose first line is
`# raises-exception` is tagged so nbval expects its error; `# nbval-ignore-output` runs the cell
without comparing its output (for text another component may legitimately change, like SQL). The notebook is executed on the
VDFS kernel and saved with its outputs: those outputs are what `pytest --nbval` compares.

    .venv/bin/python notebooks/build.py            # all notebooks
    .venv/bin/python notebooks/build.py quickstart # one
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"


def cells_of(source: str) -> list[nbformat.NotebookNode]:
    cells, kind, lines = [], None, []

    def flush() -> None:
        if kind is None:
            return
        text = "\n".join(lines).strip("\n")
        if kind == "markdown":
            text = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in text.split("\n"))
            cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cell = nbformat.v4.new_code_cell(text)
            for tag in ("raises-exception", "nbval-ignore-output"):
                if cell.source.startswith(f"# {tag}"):
                    cell.source = cell.source.split("\n", 1)[1] if "\n" in cell.source else ""
                    cell.metadata.setdefault("tags", []).append(tag)
            cells.append(cell)

    for line in source.split("\n"):
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def build(name: str, execute: bool = True) -> Path:
    from nbclient import NotebookClient
    from kernel_ext import kernelspec
    if not kernelspec.is_installed():
        kernelspec.install()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "vdfs", "display_name": "VDFS (Python 3)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = cells_of((SRC / f"{name}.py").read_text(encoding="utf-8"))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name}-{i}"
    out = HERE / f"{name}.ipynb"
    if execute:
        NotebookClient(nb, kernel_name="vdfs", timeout=120, allow_errors=False,
                       resources={"metadata": {"path": str(HERE)}}).execute()
        nb.metadata.pop("widgets", None)  # widget state holds model ids; nbval ignores it anyway
        nb.metadata["kernelspec"]["display_name"] = "VDFS (Python 3)"
        nb.metadata["language_info"] = {"name": "python"}
        for cell in nb.cells:     # execution timestamps: a rebuild must not change a notebook
            cell.metadata.pop("execution", None)
    nbformat.write(nb, str(out))
    return out


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in SRC.glob("*.py"))
    for name in names:
        print("built", build(name).name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
