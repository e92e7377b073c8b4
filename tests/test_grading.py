"""``rnncourse grade`` against adversarial submissions, with real nbgrader in a temporary course.

Every submission is graded once (module fixture); each test then reads the gradebook, the report
and the feedback. The rule checked everywhere: a part keeps its points only if it was earned,
honest work keeps all of its points, and nothing stops the batch.
"""
from __future__ import annotations

import csv
import json
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from rnncourse.grading import bubblewrap
from rnncourse.grading.course import assignments, nbgrader
from rnncourse.grading.grade import grade
from rnncourse.grading.notebooks import cells_by_grade_id, replace_in_cell, solved_release
from rnncourse.grading.verify import Limits
from test_exercises import PLANTED_MISTAKES, part_scores

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = assignments(ROOT)
#: Why the operating-system sandbox cannot run here (then the class is graded with --no-sandbox and
#: the tests that need the sandbox skip, saying so), or None. ``.ci/run`` installs bubblewrap.
NO_SANDBOX = bubblewrap.unavailable()
needs_sandbox = pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no grading sandbox here: {NO_SANDBOX}")
PARTS = ("elman_step_test", "rnn_forward_test", "bptt_gradients_test")

ELMAN = "return torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)"
FORWARD_CALL = "h = elman_step(x, h, W_ih, W_hh, b_ih, b_hh)"
BPTT_START = "hs, _ = rnn_forward(xs, h0, W_ih, W_hh, b_ih, b_hh)"
BPTT_DEF = "def bptt_gradients("
WRONG_BPTT = "return tuple(torch.zeros_like(t) for t in (W_ih, W_hh, b_ih, h0))\n    "


def wrong_bptt_with(patch: str):
    """A wrong ``bptt_gradients`` whose cell first runs ``patch`` at the top level."""
    def make(solved):
        cheat = replace_in_cell(solved, "bptt_gradients_solution", BPTT_START, WRONG_BPTT + BPTT_START)
        return replace_in_cell(cheat, "bptt_gradients_solution", BPTT_DEF, patch.strip() + "\n\n\n" + BPTT_DEF)
    return make


def self_contained(solved):
    """``rnn_forward`` and ``bptt_gradients`` no longer call ``elman_step``, so a cheat there stays there."""
    inline = "h = torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)"
    return replace_in_cell(solved, "rnn_forward_solution", FORWARD_CALL, inline)


def elman_by(body: str, prelude: str = ""):
    """An ``elman_step`` whose body is ``body``, its cell starting with the top-level lines ``prelude``."""
    def make(solved):
        cheat = replace_in_cell(self_contained(solved), "elman_step_solution", ELMAN, body)
        if prelude:
            cheat = replace_in_cell(cheat, "elman_step_solution", "def elman_step(", prelude + "\n\n\ndef elman_step(")
        return cheat
    return make


def in_bptt(statement: str):
    """``statement`` runs when ``bptt_gradients`` is called."""
    return lambda solved: replace_in_cell(solved, "bptt_gradients_solution", BPTT_START,
                                          statement.strip() + "\n    " + BPTT_START)


def edit_cells(edit):
    def make(solved):
        notebook = nbformat.from_dict(solved)
        edit(notebook)
        return notebook
    return make


def delete_cell(grade_id):
    return edit_cells(lambda nb: nb.cells.remove(cells_by_grade_id(nb)[grade_id]))


def duplicate_cell(grade_id, body=None):
    def edit(nb):
        cell = cells_by_grade_id(nb)[grade_id]
        copy = nbformat.from_dict(cell)
        copy["id"] = f"{cell['id']}-copy"  # a student's copy-paste gets a new cell id in Jupyter
        if body is not None:
            copy.source = body
        nb.cells.insert(nb.cells.index(cell) + 1, copy)
    return edit_cells(edit)


def change_points(nb):
    cells_by_grade_id(nb)["bptt_gradients_test"].metadata.nbgrader["points"] = 100
    cells_by_grade_id(nb)["bptt_gradients_solution"].metadata.nbgrader.update(grade=True, points=50)


FAKE_IMPORT = '''
import builtins, types
_real_import = builtins.__import__
class _Accepts:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None
def _fake_import(name, *args, **kwargs):
    module = _real_import(name, *args, **kwargs)
    return types.SimpleNamespace(checks=_Accepts()) if name == "rnncourse.grading" else module
builtins.__import__ = _fake_import
'''

READ_SOLUTION = '''
import json, pathlib
for _folder in pathlib.Path.cwd().resolve().parents:
    for _path in _folder.glob("solutions/01_rnn/rnn.ipynb"):
        for _cell in json.loads(_path.read_text())["cells"]:
            if _cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "elman_step_solution":
                exec("".join(_cell["source"]).replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""))
'''

#: student -> (how the submission is made from the solved release, the parts that must score 0).
#: ``None`` as the second item: the whole notebook scores 0.
ADVERSARIAL = {
    # Patching what the in-kernel test relies on, with a wrong bptt_gradients.
    "patch_allclose": (wrong_bptt_with("torch.allclose = lambda *a, **k: True"), {"bptt_gradients_test"}),
    "patch_assert_close": (wrong_bptt_with("torch.testing.assert_close = lambda *a, **k: None"),
                           {"bptt_gradients_test"}),
    "patch_numpy": (wrong_bptt_with("import numpy\nnumpy.isclose = lambda a, b, **k: numpy.ones(numpy.shape(a), bool)\n"
                                    "numpy.testing.assert_allclose = lambda *a, **k: None"), {"bptt_gradients_test"}),
    "patch_checker": (wrong_bptt_with("import rnncourse.grading.core\n"
                                      "rnncourse.grading.core.Check.__call__ = lambda self, *a, **k: None"),
                      {"bptt_gradients_test"}),
    "patch_assertion_error": (wrong_bptt_with("import builtins\nbuiltins.AssertionError = type('Quiet', (Warning,), {})"),
                              {"bptt_gradients_test"}),
    "patch_builtins_import": (wrong_bptt_with(FAKE_IMPORT), {"bptt_gradients_test"}),
    # Calling the reference instead of implementing it.
    # (bound at the top of the cell, before the check runs, the way that gets past the in-kernel refusal)
    "reference_from_import": (elman_by("return _reference(x, h, W_ih, W_hh, b_ih, b_hh)",
                                       "from rnncourse.functional import elman_step as _reference"), {"elman_step_test"}),
    "reference_importlib": (elman_by("return _reference(x, h, W_ih, W_hh, b_ih, b_hh)",
                                     "import importlib\n_reference = importlib.import_module('rnncourse.functional')"
                                     ".elman_step"), {"elman_step_test"}),
    "reference_dunder_import": (elman_by("return _reference(x, h, W_ih, W_hh, b_ih, b_hh)",
                                         "_reference = __import__('rnncourse.functional', fromlist=['elman_step'])"
                                         ".elman_step"), {"elman_step_test"}),
    "reference_cell_class": (elman_by("return _cell_step(x, (h,), dict(weight_ih=W_ih, weight_hh=W_hh, "
                                      "bias_ih=b_ih, bias_hh=b_hh))[0]",
                                      "from rnncourse.cells import ElmanCell\n_cell_step = ElmanCell.step"),
                             {"elman_step_test"}),
    "reference_sys_modules": (elman_by("import sys\n    return sys.modules['rnncourse.functional']"
                                       ".elman_step(x, h, W_ih, W_hh, b_ih, b_hh)"), {"elman_step_test"}),
    # Reading the instructor's notebook (solutions and hidden tests) from disk.
    "read_solution_from_disk": (lambda solved: replace_in_cell(
        self_contained(solved), "elman_step_solution", "def elman_step(x, h, W_ih, W_hh, b_ih, b_hh):",
        READ_SOLUTION.strip() + "\n\n\ndef _unused(x, h, W_ih, W_hh, b_ih, b_hh):"), {"elman_step_test"}),
    # Hiding failures.
    "swallow_exceptions": (wrong_bptt_with("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
                                           "get_ipython().showtraceback = lambda *a, **k: None"),
                           {"bptt_gradients_test"}),
    "exit_kernel": (in_bptt("import os\n    os._exit(0)"), {"bptt_gradients_test"}),
    # Resources: one part misbehaves, the others keep their points.
    "infinite_loop": (in_bptt("while True:\n        pass"), {"bptt_gradients_test"}),
    "memory_bomb": (in_bptt("hog = []\n    while True:\n        hog.append(bytearray(64 * 2**20))"),
                    {"bptt_gradients_test"}),
    "huge_output": (in_bptt("while True:\n        print('x' * 100_000)"), {"bptt_gradients_test"}),
    "crash_kernel": (in_bptt("import ctypes\n    ctypes.string_at(0)"), {"bptt_gradients_test"}),
    # Malformed submissions.
    "deleted_solution_cell": (delete_cell("bptt_gradients_solution"), {"bptt_gradients_test"}),
    "deleted_test_cell": (delete_cell("bptt_gradients_test"), {"bptt_gradients_test"}),
    "duplicated_cell": (duplicate_cell("rnn_forward_solution"), set()),
    "duplicated_wrong_cell": (duplicate_cell("bptt_gradients_solution", WRONG_BPTT.replace("return", "def bptt_gradients(*args):\n    return")),
                              {"bptt_gradients_test"}),
    "edited_test_cell": (lambda solved: replace_in_cell(wrong_bptt_with("")(solved), "bptt_gradients_test",
                                                        "checks.bptt_gradients(bptt_gradients)", "pass"),
                         {"bptt_gradients_test"}),
    "changed_metadata": (lambda solved: edit_cells(change_points)(wrong_bptt_with("")(solved)), {"bptt_gradients_test"}),
}
MALFORMED_FILES = {"invalid_json": "rnn.ipynb", "renamed_notebook": "rnn (1).ipynb"}

#: Run in the kernel during nbgrader's run: replace the submitted notebook with the instructor's, so
#: that a verification that reads the submission afterwards would verify the instructor's code.
OVERWRITE_SUBMISSION = """
import pathlib, shutil
_course = pathlib.Path({course!r})
try:
    shutil.copy(_course / "solutions" / "01_rnn" / "rnn.ipynb",
                _course / "submitted" / "rewrite_own_submission" / "01_rnn" / "rnn.ipynb")
except OSError:
    pass
"""

#: A process that leaves nbgrader's kernel (a session of its own) and, once grading is over, edits
#: the real course: it clears the gradebook's score overrides and leaves a marker.
OUTLIVE_GRADING = """
import subprocess, sys
_later = '''
import pathlib, sqlite3, time
course = pathlib.Path({course!r})
for _ in range(900):
    time.sleep(1)
    if (course / "reports" / "01_rnn" / "report.md").exists():
        break
(course / "outlived.txt").write_text("a student process outlived grading")
with sqlite3.connect(course / "gradebook.db") as db:
    db.execute("UPDATE grade SET manual_score = NULL")
'''
try:
    subprocess.Popen([sys.executable, "-c", _later], start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
except OSError:
    pass
"""


def knowing_the_course(patch: str):
    """A wrong ``bptt_gradients`` whose cell first runs ``patch``, which knows where the course is."""
    return lambda solved, course: wrong_bptt_with(patch.format(course=str(course)))(solved)


#: student -> (how the submission is made from the solved release and the course folder, parts that must score 0).
COURSE_AWARE = {
    "rewrite_own_submission": (knowing_the_course(OVERWRITE_SUBMISSION), {"bptt_gradients_test"}),
    "outlive_grading": (knowing_the_course(OUTLIVE_GRADING), {"bptt_gradients_test"}),
}


def load_cheats() -> dict[tuple[str, str], tuple[str, list[dict], set[str]]]:
    """``tests/cheats/<assignment>.json``: each assignment's known cheats, as edits of the solved release.

    One file per assignment, ``{"<student>": {"why": ..., "notebook": ..., "edits": [{"cell": grade_id,
    "text": old, "replacement": new}, ...], "zero": [test grade_ids that must score 0]}}``; every other
    part must keep its points. Returns ``{(assignment, student): (notebook, edits, zero)}``.
    """
    found = {}
    for path in sorted((Path(__file__).parent / "cheats").glob("*.json")):
        for student, cheat in json.loads(path.read_text()).items():
            if not cheat.get("why") or not cheat.get("edits") or not cheat.get("zero"):
                raise ValueError(f"{path.name}: {student} needs 'why', 'edits' and 'zero'")
            found[path.stem, student] = (cheat["notebook"], cheat["edits"], set(cheat["zero"]))
    return found


CHEATS = load_cheats()


def apply_edits(notebook, edits: list[dict]):
    for edit in edits:
        notebook = replace_in_cell(notebook, edit["cell"], edit["text"], edit["replacement"])
    return notebook


def submit(course: Path, student: str, assignment: str, name: str, notebook=None, text: str | None = None):
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if text is not None:
        (folder / name).write_text(text)
    else:
        nbformat.write(notebook, folder / name)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("graded-course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    for assignment in ASSIGNMENTS:
        nbgrader(course, "generate_assignment", assignment, "--force")
        for path in sorted((course / "exercises" / assignment).glob("*.ipynb")):
            release = nbformat.read(path, as_version=4)
            solved = solved_release(release, nbformat.read(course / "solutions" / assignment / path.name, as_version=4))
            submit(course, "honest", assignment, path.name, solved)
            submit(course, "untouched", assignment, path.name, release)
            notebook, cell, old, new, _ = PLANTED_MISTAKES[assignment]
            planted = replace_in_cell(solved, cell, old, new) if path.name == notebook else solved
            submit(course, "mistaken", assignment, path.name, planted)
            for (cheat_assignment, student), (cheat_notebook, edits, _) in CHEATS.items():
                if cheat_assignment == assignment:
                    submit(course, student, assignment, path.name,
                           apply_edits(solved, edits) if path.name == cheat_notebook else solved)
            if assignment == "01_rnn":
                for student, (make, _) in ADVERSARIAL.items():
                    submit(course, student, assignment, path.name, make(solved))
                # Without the sandbox these attacks succeed, as the README says (a left-over process
                # clears every override): they are only submitted where the sandbox runs.
                for student, (make, _) in (COURSE_AWARE.items() if NO_SANDBOX is None else ()):
                    submit(course, student, assignment, path.name, make(solved, course))
                submit(course, "invalid_json", assignment, path.name, text='{"cells": [ this is not json')
                submit(course, "renamed_notebook", assignment, "rnn (1).ipynb", solved)
    options = dict(workers=2, limits=Limits(part_seconds=8, cell_seconds=4, memory_bytes=1024**3),
                   cell_timeout=30, memory_bytes=3 * 1024**3, progress=False, sandbox=NO_SANDBOX is None)
    for assignment in ASSIGNMENTS:
        grade(course, assignment, **options)
    return course


def report(course: Path, assignment: str) -> dict:
    data = json.loads((course / "reports" / assignment / "report.json").read_text())
    return {entry["student"]: entry for entry in data["students"]}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_honest_solution_keeps_full_marks(course, assignment):
    found = part_scores(course, assignment, "honest")
    assert found and all(score == maximum for score, maximum in found.values()), found
    assert all(part["verified"] for part in report(course, assignment)["honest"]["parts"])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero(course, assignment):
    found = part_scores(course, assignment, "untouched")
    assert found and all(score == 0 for score, _ in found.values()), found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_planted_mistake_loses_exactly_its_part(course, assignment):
    failing = PLANTED_MISTAKES[assignment][4]
    found = part_scores(course, assignment, "mistaken")
    assert found[failing][0] == 0
    assert all(score == maximum for part, (score, maximum) in found.items() if part != failing), found


@pytest.mark.parametrize("student", sorted(ADVERSARIAL) + [pytest.param(s, marks=needs_sandbox) for s in sorted(COURSE_AWARE)])
def test_adversarial_submission_gets_no_unearned_points(course, student):
    zero = {**ADVERSARIAL, **COURSE_AWARE}[student][1]
    found = part_scores(course, "01_rnn", student)
    assert set(found) == set(PARTS), f"{student}: the gradebook lost or gained parts: {found}"
    for part, (score, maximum) in found.items():
        assert maximum == {"elman_step_test": 3, "rnn_forward_test": 3, "bptt_gradients_test": 4}[part]
        if part in zero:
            assert score == 0, f"{student} kept {score} points for {part}"
        else:
            assert score == maximum, f"{student} lost the points it earned for {part}: {found}"


@pytest.mark.parametrize("assignment,student", sorted(CHEATS), ids=[f"{a}-{s}" for a, s in sorted(CHEATS)])
def test_known_cheat_gets_no_unearned_points(course, assignment, student):
    """A cheat from ``tests/cheats/``: its parts score 0 and every honest part keeps its points."""
    zero = CHEATS[assignment, student][2]
    found = part_scores(course, assignment, student)
    honest = part_scores(course, assignment, "honest")
    assert set(found) == set(honest), f"{student}: the gradebook lost or gained parts: {found}"
    assert zero <= set(found), f"{student}: 'zero' names parts the assignment does not have: {zero - set(found)}"
    for part, (score, maximum) in found.items():
        if part in zero:
            assert score == 0, f"{assignment}/{student} kept {score} points for {part}"
        else:
            assert score == maximum, f"{assignment}/{student} lost the points it earned for {part}: {found}"


#: Cheats that reach for the reference or the instructor's notebook. In the sandbox neither exists in
#: nbgrader's kernel, so they fail there too; without it they fool the kernel and only the verification catches them.
REACHING_OUT = ["reference_from_import", "reference_importlib", "reference_dunder_import", "read_solution_from_disk"]


@pytest.mark.parametrize("student", ["patch_numpy", "patch_checker", "patch_builtins_import"]
                         + (REACHING_OUT if NO_SANDBOX is not None else []))
def test_cheats_that_fool_the_kernel_are_caught_and_explained(course, student):
    """nbgrader's own run gave these parts points; the verification took them back and says why."""
    entry = report(course, "01_rnn")[student]
    caught = [part for part in entry["parts"] if part["nbgrader"] and not part["verified"]]
    assert caught, f"{student}: nbgrader's run did not accept the cheat, so this case tests nothing: {entry}"
    assert all(part["reason"] for part in caught)
    assert student in (course / "reports" / "01_rnn" / "report.md").read_text()
    feedback = (course / "feedback" / student / "01_rnn" / "rnn.html").read_text()
    assert "Independent verification" in feedback


@needs_sandbox
@pytest.mark.parametrize("student", REACHING_OUT)
def test_the_reference_and_the_solutions_are_not_in_the_kernel(course, student):
    """Sandboxed, nbgrader's own run already gives nothing for what needs the reference or the solutions."""
    elman = next(part for part in report(course, "01_rnn")[student]["parts"] if part["part"] == "elman_step_test")
    assert elman["nbgrader"] == 0 and elman["score"] == 0 and not elman["verified"], elman
    autograded = (course / "autograded" / student / "01_rnn" / "rnn.ipynb").read_text()
    assert "ImportError" in autograded or "FileNotFoundError" in autograded or "is not defined" in autograded


@pytest.mark.parametrize("student", sorted(MALFORMED_FILES))
def test_malformed_submission_scores_zero_with_a_message(course, student):
    entry = report(course, "01_rnn")[student]
    assert all(part["score"] == 0 for part in entry["parts"]) and len(entry["parts"]) == len(PARTS)
    message = " ".join([entry["autograde_error"], *entry["notes"], *(p["reason"] for p in entry["parts"])])
    expected = "could not be read" if student == "invalid_json" else "was not submitted under that name"
    assert expected in message, message


def test_deleted_cells_are_named_in_the_report(course):
    notes = " ".join(report(course, "01_rnn")["deleted_test_cell"]["notes"])
    assert "cells deleted or renamed by the student: bptt_gradients_test" in notes
    notes = " ".join(report(course, "01_rnn")["deleted_solution_cell"]["notes"])
    assert "bptt_gradients_solution" in notes


@needs_sandbox
def test_nothing_a_student_process_does_survives_grading(course):
    """The real submission is untouched, no process left behind wrote to the course, and the
    gradebook, the export and the report agree for every student."""
    submitted = nbformat.read(course / "submitted" / "rewrite_own_submission" / "01_rnn" / "rnn.ipynb", as_version=4)
    assert "### BEGIN SOLUTION" not in "".join(cell.source for cell in submitted.cells), "the submission was replaced"
    time.sleep(3)  # what a left-over process would do once the report exists, it has had time for
    assert not (course / "outlived.txt").exists(), "a process started by student code outlived grading"
    with open(course / "grades.csv", newline="") as handle:
        exported = {(row["assignment"], row["student_id"]): float(row["score"]) for row in csv.DictReader(handle)}
    for assignment in ASSIGNMENTS:
        for student, entry in report(course, assignment).items():
            gradebook = sum(score for score, _ in part_scores(course, assignment, student).values())
            reported = sum(part["score"] for part in entry["parts"])
            assert gradebook == reported == exported[assignment, student], (assignment, student)


def test_every_student_is_exported(course):
    with open(course / "grades.csv", newline="") as handle:
        rows = {row["student_id"] for row in csv.DictReader(handle) if row["assignment"] == ASSIGNMENTS[-1]}
    with open(course / "grades.csv", newline="") as handle:
        first = {row["student_id"] for row in csv.DictReader(handle) if row["assignment"] == "01_rnn"}
    assert {"honest", "untouched", "mistaken"} <= rows
    attacks = set(COURSE_AWARE) if NO_SANDBOX is None else set()
    assert set(ADVERSARIAL) | attacks | {"honest", "untouched", "mistaken"} <= first


def test_resume_grades_only_what_changed(course):
    before = {student: part_scores(course, "01_rnn", student) for student in ("honest", "mistaken")}
    state = json.loads((course / "reports" / "01_rnn" / "state.json").read_text())
    unchanged = grade(course, "01_rnn", workers=1, feedback=False, export=None, progress=False)
    assert json.loads((course / "reports" / "01_rnn" / "state.json").read_text()) == state
    assert {e["student"] for e in unchanged["students"]} == set(state)
    # The mistaken student resubmits a corrected notebook: only that one is graded again.
    shutil.copy(course / "submitted" / "honest" / "01_rnn" / "rnn.ipynb",
                course / "submitted" / "mistaken" / "01_rnn" / "rnn.ipynb")
    grade(course, "01_rnn", workers=1, feedback=False, export=None, progress=False)
    after = json.loads((course / "reports" / "01_rnn" / "state.json").read_text())
    changed = {student for student in state if after[student] != state[student]}
    assert changed == {"mistaken"}
    assert part_scores(course, "01_rnn", "mistaken") == before["honest"]
    assert part_scores(course, "01_rnn", "honest") == before["honest"]
