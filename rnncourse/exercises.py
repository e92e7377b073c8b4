"""What the book shows about the graded exercises, read from the student release itself.

The exercise pages of the book (``book/exercises/``) call :func:`parts_table` so that the parts
and points they list are the ones in ``exercises/NN_topic/*.ipynb``, never a second copy that could
drift from the notebook.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

#: The repository root: the book's pages and the tests find the exercises from here.
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Part:
    """One graded part of an assignment: its heading, the test cell's grade id and its points."""

    title: str
    grade_id: str
    points: float
    checks: str  # the test cell's one-line docstring: what it checks


def release_notebook(assignment: str, root: Path = ROOT) -> Path:
    """The student notebook of ``assignment`` (e.g. ``"01_rnn"``) in ``exercises/``."""
    folder = root / "exercises" / assignment
    notebooks = sorted(folder.glob("*.ipynb"))
    if len(notebooks) != 1:
        known = sorted(p.name for p in (root / "exercises").iterdir() if p.is_dir()) if (root / "exercises").is_dir() else []
        raise ValueError(f"expected one notebook in {folder}, found {len(notebooks)} (assignments: {', '.join(known)})")
    return notebooks[0]


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def parts(assignment: str, root: Path = ROOT) -> list[Part]:
    """The graded parts of ``assignment`` in notebook order, each under the ``## Part`` heading before it."""
    notebook = json.loads(release_notebook(assignment, root).read_text(encoding="utf-8"))
    found, heading = [], None
    for cell in notebook["cells"]:
        text = _source(cell)
        if cell["cell_type"] == "markdown":
            match = re.search(r"^##\s+(Part .*?)\s*$", text, re.M)
            if match:
                heading = re.sub(r"\s*\(\d+(\.\d+)? points?\)$", "", match.group(1))
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and meta.get("grade"):
            docstring = re.match(r'\s*"""(.*?)"""', text, re.S)
            found.append(Part(heading or meta["grade_id"], meta["grade_id"], float(meta.get("points", 0)),
                              re.sub(r"\s*\(\d+(\.\d+)? points?\)\.?$", "", docstring.group(1).strip()) if docstring else ""))
    if not found:
        raise ValueError(f"{release_notebook(assignment, root)} has no graded test cell")
    return found


def parts_table(assignment: str, root: Path = ROOT) -> str:
    """A Markdown table of the parts of ``assignment``: part, what its test checks, points, and the total."""
    rows = parts(assignment, root)
    lines = ["| part | what the test checks | points |", "|---|---|---:|"]
    lines += [f"| {p.title} | {p.checks.replace('|', '/')} | {p.points:g} |" for p in rows]
    lines.append(f"| **total** | | **{sum(p.points for p in rows):g}** |")
    return "\n".join(lines)


def title(assignment: str, root: Path = ROOT) -> str:
    """The notebook's title, the first ``# `` heading of its first cell (``"Exercise 2: long short-term memory"``)."""
    notebook = json.loads(release_notebook(assignment, root).read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        match = re.search(r"^#\s+(.+?)\s*$", _source(cell), re.M)
        if cell["cell_type"] == "markdown" and match:
            return match.group(1)
    raise ValueError(f"{release_notebook(assignment, root)} has no '# ' title")


def assignments(root: Path = ROOT) -> list[str]:
    """Every assignment of the course, the folders of ``exercises/`` in order."""
    return sorted(p.name for p in (root / "exercises").iterdir() if p.is_dir() and list(p.glob("*.ipynb")))


def assignment_index(root: Path = ROOT) -> str:
    """A Markdown table of every assignment: its page in the book, its notebook and its points."""
    lines = ["| assignment | notebook | parts | points |", "|---|---|---:|---:|"]
    for assignment in assignments(root):
        rows = parts(assignment, root)
        notebook = release_notebook(assignment, root)
        lines.append(f"| [{title(assignment, root)}]({assignment}.md) | `exercises/{assignment}/{notebook.name}` "
                     f"| {len(rows)} | {sum(p.points for p in rows):g} |")
    return "\n".join(lines)
