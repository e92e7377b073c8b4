"""The exercises opened as a student opens them: a fresh kernel runs each release notebook top to bottom.

The untouched release must stop at the test of its first part, saying that the function is not
implemented yet (the check turns the stub's ``raise NotImplementedError()`` into that message), so
that a student sees where to start and not an unrelated failure earlier on; with the instructor's
solution cells in place of the stubs, the whole notebook runs and every visible test passes.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from rnncourse.exercises import assignments, release_notebook
from rnncourse.grading.notebooks import nbgrader_meta, solution_cells, solved_release

ROOT = Path(__file__).resolve().parents[1]


def run(notebook, folder: Path):
    """Execute ``notebook`` in ``folder`` with a fresh kernel, as `Restart and run all` does."""
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()


@pytest.mark.parametrize("assignment", assignments())
def test_release_stops_at_the_first_part_and_the_solved_release_passes(assignment, tmp_path):
    path = release_notebook(assignment)
    shutil.copytree(path.parent, tmp_path / assignment)
    folder = tmp_path / assignment
    release = nbformat.read(path, as_version=4)

    first_part = release.cells.index(solution_cells(release)[0])
    first_test = next(cell for cell in release.cells[first_part:] if nbgrader_meta(cell).get("grade"))
    with pytest.raises(CellExecutionError) as failure:
        run(release, folder)
    assert failure.value.ename == "AssertionError" and "is not implemented yet" in failure.value.evalue, (
        f"{assignment}: {failure.value.ename}: {failure.value.evalue}")
    failed = next(cell for cell in release.cells if cell.cell_type == "code"
                  and any(o.get("output_type") == "error" for o in cell.get("outputs", [])))
    assert failed is first_test, (
        f"{assignment}: the first error is in {nbgrader_meta(failed).get('grade_id', 'a cell without grade id')}, "
        f"not in the first part's test {nbgrader_meta(first_test)['grade_id']}")

    source = nbformat.read(ROOT / "solutions" / assignment / path.name, as_version=4)
    solved = solved_release(nbformat.read(path, as_version=4), source)
    run(solved, folder)  # raises CellExecutionError, naming the cell, if a visible test fails
