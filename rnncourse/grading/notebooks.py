"""Reading nbgrader notebooks: cells by grade id, solution text, and synthetic submissions.

Used by the grader (to find each student's solution cells) and by the tests and the benchmark
(to make honest, mistaken and adversarial submissions from the instructor's notebooks).
"""
from __future__ import annotations

import re

import nbformat

SOLUTION_BLOCK = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*### END SOLUTION[ \t]*\n?", re.S | re.M)
HIDDEN_BLOCK = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*\n.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?", re.S | re.M)


def nbgrader_meta(cell) -> dict:
    """A cell's nbgrader metadata; ``{}`` when it is missing or not a mapping (a student may edit it)."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    found = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    if not isinstance(found, dict) or not isinstance(found.get("grade_id", ""), str):
        return {}
    return found


def cells_by_grade_id(notebook) -> dict[str, dict]:
    """Every nbgrader cell of ``notebook`` by its ``grade_id``."""
    return {nbgrader_meta(cell)["grade_id"]: cell for cell in notebook.cells if nbgrader_meta(cell).get("grade_id")}


def solution_cells(notebook) -> list[dict]:
    """The code cells the student writes, in notebook order."""
    return [c for c in notebook.cells if c.cell_type == "code" and nbgrader_meta(c).get("solution")]


def graded_cells(notebook) -> list[dict]:
    """The test cells that carry points, in notebook order."""
    return [c for c in notebook.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]


def strip_solution_markers(source: str) -> str:
    """The instructor's cell as a student who solved it would have written it."""
    return SOLUTION_BLOCK.sub(lambda m: m.group(1), source)


def solved_release(release, source):
    """The release notebook with every solution cell filled in from the instructor's ``source``."""
    solved = nbformat.from_dict(release)
    answers = cells_by_grade_id(source)
    for cell in solution_cells(solved):
        cell.source = strip_solution_markers(answers[nbgrader_meta(cell)["grade_id"]].source)
    return solved


def replace_in_cell(notebook, grade_id: str, old: str, new: str):
    """A copy of ``notebook`` with ``old`` replaced by ``new`` in the cell ``grade_id`` (which must contain it)."""
    changed = nbformat.from_dict(notebook)
    cell = cells_by_grade_id(changed)[grade_id]
    if old not in cell.source:
        raise ValueError(f"cell {grade_id!r} does not contain {old!r}")
    cell.source = cell.source.replace(old, new)
    return changed
