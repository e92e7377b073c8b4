"""``rnncourse grade ASSIGNMENT``: nbgrader's autograde, then independent verification, for a class.

No student code ever runs with write access to the real course. Before any of it runs, every
submission is copied into a private **snapshot** (regular files only) and fingerprinted; the
snapshots are split into one shard per worker, and each shard is graded in a **throw-away course**
of its own (its own folders and a copy of the gradebook), by one thread that

1. runs ``nbgrader autograde`` there in one process (:mod:`rnncourse.grading.nbexec`), every
   kernel inside bubblewrap (:mod:`rnncourse.grading.kernel`): a read-only system, no network, its
   own PID namespace (nothing it starts outlives it, detached sessions included), only its
   notebook's folder writable, and a stand-in ``rnncourse.grading`` that holds no reference;
2. as nbgrader finishes each submission, reads its scores from the throw-away gradebook, strictly
   (known parts only, each score a number between 0 and the part's points), and verifies every
   graded part again from the snapshot (:mod:`rnncourse.grading.verify`, in a sandbox of its own).

Only this process, which never runs student code, writes the real course: one submission at a time
it records nbgrader's scores in the real gradebook, copies the autograded notebooks in, and
reconciles: a part keeps its points only if both passed. Where verification fails, the part's score
is overridden with 0 and the reason becomes a comment on the student's solution cell, which
nbgrader's feedback shows. Then feedback, the export and the report (``reports/<assignment>/``).

Where bubblewrap cannot start, nothing is graded unless ``sandbox=False`` (``--no-sandbox``) is
asked for: then the kernels and the verification run with the Python-level guards alone, still in
the throw-away course.

Progress is saved after each submission (``reports/<assignment>/state.json``): an interrupted run
resumes where it stopped, and a submission that changed since it was graded is graded again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import nbformat

from . import bubblewrap, kernel
from .course import NbgraderError, nbgrader, nbgrader_environment
from .notebooks import cells_by_grade_id, nbgrader_meta, solution_cells
from .verify import Limits, Sandbox, Verdict, graded_parts, verify_notebook

#: The start of the error recorded for a submission that nbgrader never reached.
NOT_GRADED = "nbgrader did not grade this submission"

#: Comments this tool writes start with this, so that a later run can tell them from a grader's.
MARK = "**Independent verification:**"


@dataclasses.dataclass
class CourseLayout:
    """The folders and database of an nbgrader course directory, as its ``nbgrader_config.py`` sets them."""

    root: Path
    source: str = "source"
    submitted: str = "submitted"
    autograded: str = "autograded"
    feedback: str = "feedback"
    db_url: str = ""

    @classmethod
    def load(cls, root: str | os.PathLike) -> "CourseLayout":
        from traitlets.config.loader import PyFileConfigLoader

        root = Path(root).resolve()
        layout = cls(root)
        config_file = root / "nbgrader_config.py"
        if config_file.exists():
            course = PyFileConfigLoader(config_file.name, path=str(root)).load_config().get("CourseDirectory", {})
            layout.source = course.get("source_directory", layout.source)
            layout.submitted = course.get("submitted_directory", layout.submitted)
            layout.autograded = course.get("autograded_directory", layout.autograded)
            layout.feedback = course.get("feedback_directory", layout.feedback)
            layout.db_url = course.get("db_url", "")
        if not layout.db_url:
            # Parallel autograde runs share one SQLite file: wait for its lock instead of failing.
            layout.db_url = f"sqlite:///{root / 'gradebook.db'}?timeout=120"
        return layout

    def source_notebooks(self, assignment: str) -> dict[str, nbformat.NotebookNode]:
        folder = self.root / self.source / assignment
        if not folder.is_dir():
            raise ValueError(f"no assignment {assignment!r}: expected a folder {folder}")
        return {path.name: nbformat.read(path, as_version=4) for path in sorted(folder.glob("*.ipynb"))}

    def students(self, assignment: str) -> list[str]:
        folder = self.root / self.submitted
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir())

    def submission(self, student: str, assignment: str) -> Path:
        return self.root / self.submitted / student / assignment


@dataclasses.dataclass
class Outcome:
    """What grading one submission found, before it is written to the gradebook."""

    student: str
    fingerprint: str
    autograde_error: str = ""
    verdicts: dict = dataclasses.field(default_factory=dict)   # notebook -> {test cell id: Verdict}
    notes: list = dataclasses.field(default_factory=list)
    seconds: dict = dataclasses.field(default_factory=dict)     # "autograde", "verify"
    autograded: dict | None = None          # nbgrader's results, read strictly from the throw-away gradebook
    autograded_folder: Path | None = None   # its autograded notebooks, copied out of the throw-away course


def fingerprint(folder: Path) -> str:
    """A hash of every file of a submission, so that a resubmission is graded again."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


#: The most a submission may hold; a snapshot stops copying beyond it.
MAX_SUBMISSION_BYTES = 256 * 1024**2


def snapshot(folder: Path, target: Path) -> list[str]:
    """Copy the regular files of a submission into ``target`` (the copy that is graded and verified).

    Links, devices and FIFOs are left out, as is everything past :data:`MAX_SUBMISSION_BYTES`.
    Returns notes on what was left out.
    """
    notes, total = [], 0
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        info = path.lstat()
        if stat.S_ISDIR(info.st_mode):
            (target / relative).mkdir(parents=True, exist_ok=True)
            continue
        if not stat.S_ISREG(info.st_mode):
            notes.append(f"{relative} is not a regular file and was not graded")
            continue
        total += info.st_size
        if total > MAX_SUBMISSION_BYTES:
            notes.append(f"the submission is larger than {MAX_SUBMISSION_BYTES // 2**20} MiB; {relative} and "
                         f"later files were not graded")
            break
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative, follow_symlinks=False)
    return notes


def _throwaway_course(layout: CourseLayout, assignment: str, root: Path, snapshots: dict[str, Path]) -> str:
    """A course folder of its own for one shard: the snapshots as ``submitted/``, a copy of the
    gradebook, the assignment's non-notebook source files. Returns its database URL."""
    root.mkdir(parents=True)
    database = root / "gradebook.db"
    with sqlite3.connect(_database_path(layout)) as real, sqlite3.connect(database) as copy:
        real.backup(copy)
    db_url = f"sqlite:///{database}?timeout=120"
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821 - written by rnncourse grade for a throw-away course\n"
        f"c.CourseDirectory.root = {str(root)!r}\nc.CourseDirectory.db_url = {db_url!r}\n")
    source = layout.root / layout.source / assignment
    for path in sorted(source.rglob("*")) if source.is_dir() else []:
        if path.is_file() and path.suffix != ".ipynb" and not path.is_symlink():
            (root / "source" / assignment / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, root / "source" / assignment / path.relative_to(source))
    (root / "source" / assignment).mkdir(parents=True, exist_ok=True)
    for student, folder in snapshots.items():
        shutil.copytree(folder, root / "submitted" / student / assignment, symlinks=True)
    return db_url


def _database_path(layout: CourseLayout) -> str:
    if not layout.db_url.startswith("sqlite:///"):
        raise ValueError(f"rnncourse grade needs an SQLite gradebook (db_url sqlite:///...), got {layout.db_url!r}")
    return layout.db_url.removeprefix("sqlite:///").split("?")[0]


def _autograde_results(db_url: str, assignment: str, student: str, sources: dict) -> tuple[dict | None, list[str]]:
    """What nbgrader's run in a throw-away course found for one student, read strictly.

    Returns ``({"timestamp", "notebooks": {name: {"grades": {id: (score, needs_manual)},
    "comments": {id: text}}}} or None, notes)``; ``None`` when nbgrader recorded no submission. Only
    the instructor's parts are read, and a score must be a number between 0 and the part's points.
    """
    from nbgrader.api import Gradebook, MissingEntry

    notes: list[str] = []
    with Gradebook(db_url) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except MissingEntry:
            return None, notes
        found = {"timestamp": submission.timestamp.isoformat() if submission.timestamp else None, "notebooks": {}}
        for notebook in submission.notebooks:
            name = f"{notebook.name}.ipynb"
            if name not in sources:
                continue
            instructor = {nbgrader_meta(c)["grade_id"]: c for c in sources[name].cells if nbgrader_meta(c).get("grade_id")}
            grades, comments = {}, {}
            for grade in notebook.grades:
                cell = instructor.get(grade.name)
                if cell is None:
                    continue
                points = float(nbgrader_meta(cell).get("points", 0))
                score = grade.auto_score
                if score is not None and not (isinstance(score, (int, float)) and 0 <= float(score) <= points):
                    notes.append(f"{name}: nbgrader's score for {grade.name} ({score!r}) is not between 0 and "
                                 f"{points:g} and was not used")
                    score = 0.0
                grades[grade.name] = (None if score is None else float(score), bool(grade.needs_manual_grade))
            for comment in notebook.comments:
                if comment.name in instructor and isinstance(comment.auto_comment, (str, type(None))):
                    comments[comment.name] = (comment.auto_comment or "")[:10_000] or None
            found["notebooks"][name] = {"grades": grades, "comments": comments}
    return found, notes


def _collect_autograded(course: Path, assignment: str, student: str, sources: dict, target: Path) -> None:
    """Copy nbgrader's autograded notebooks of one student (regular files, the assignment's names only)."""
    folder = course / "autograded" / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    for name in [*sources, "timestamp.txt"]:
        path = folder / name
        try:
            info = path.lstat()
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_SUBMISSION_BYTES:
            shutil.copyfile(path, target / name, follow_symlinks=False)


def _record(gradebook, layout: CourseLayout, assignment: str, outcome: "Outcome") -> None:
    """Write nbgrader's results of one submission into the real gradebook, and its autograded
    notebooks into the real course, as ``nbgrader autograde --force`` would have."""
    from nbgrader.api import MissingEntry

    gradebook.update_or_create_student(outcome.student)
    try:
        gradebook.remove_submission(assignment, outcome.student)
    except MissingEntry:
        pass
    target = layout.root / layout.autograded / outcome.student / assignment
    shutil.rmtree(target, ignore_errors=True)
    results = outcome.autograded
    if results is None:
        return
    kwargs = {"timestamp": results["timestamp"]} if results["timestamp"] else {}
    with warnings.catch_warnings():  # nbgrader's own add_submission warns about SQLAlchemy's autoflush
        warnings.simplefilter("ignore")
        submission = gradebook.add_submission(assignment, outcome.student, **kwargs)
    for notebook in submission.notebooks:
        found = results["notebooks"].get(f"{notebook.name}.ipynb")
        if found is None:
            continue
        for grade in notebook.grades:
            if grade.name in found["grades"]:
                grade.auto_score, grade.needs_manual_grade = found["grades"][grade.name]
        for comment in notebook.comments:
            if comment.name in found["comments"]:
                comment.auto_comment = found["comments"][comment.name]
    gradebook.db.commit()
    if outcome.autograded_folder is not None and outcome.autograded_folder.is_dir():
        shutil.copytree(outcome.autograded_folder, target, dirs_exist_ok=True)


#: nbgrader's log lines that open a student's grading and report its failure (with its submission path).
_STUDENT_STARTS = re.compile(r"^\[AutogradeApp \| INFO\] Creating/updating student with ID '(.+?)': ")
_STUDENT_FAILED = re.compile(r"^\[AutogradeApp \| ERROR\] There was an error processing assignment: (.+)$")


def _autograde_shard(course: Path, db_url: str, assignment: str, shard: list[str], cell_timeout: float,
                     memory_bytes: int, running: set, standin: str, hide: str):
    """Autograde the students of ``shard`` in one nbgrader process; yield ``(student, error, seconds)``
    as each one is done (``error`` is empty when nbgrader graded it).

    One process for many submissions saves nbgrader's start-up (about two seconds) per notebook;
    reading its log as it runs lets the verification of one student overlap the autograding of
    the next.
    """
    command = [sys.executable, "-m", "rnncourse.grading.nbexec", str(int(memory_bytes)), standin, hide, "autograde",
               assignment, "--force", f"--CourseDirectory.db_url={db_url}", f"--Execute.timeout={int(cell_timeout)}"]
    runtime = course / "runtime"  # the kernels' connection files, this shard's alone
    runtime.mkdir(exist_ok=True)
    environment = dict(nbgrader_environment(), JUPYTER_RUNTIME_DIR=str(runtime))
    process = subprocess.Popen(command, cwd=course, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors="replace",
                               start_new_session=True)
    running.add(process)
    # A last resort: the per-cell limit normally ends a runaway notebook long before this.
    watchdog = threading.Timer((cell_timeout * 100 + 300) * len(shard), _stop, (process,))
    watchdog.start()

    failed: set = set()

    def finished(student, lines, started):
        error = f"nbgrader could not autograde it: {_cause(''.join(lines))}" if student in failed else ""
        return student, error, round(time.perf_counter() - started, 3)

    seen, current, lines, started = set(), None, [], time.perf_counter()
    log = []
    try:
        for line in process.stdout:
            log.append(line)
            # Only nbgrader's own log lines, anchored: the student's notebook cannot forge them.
            begun = _STUDENT_STARTS.match(line)
            if begun and begun.group(1) in shard and begun.group(1) not in seen:
                if current is not None:
                    yield finished(current, lines, started)
                current, lines, started = begun.group(1), [], time.perf_counter()
                seen.add(current)
            failure = _STUDENT_FAILED.match(line)
            if failure:
                failed.add(Path(failure.group(1).strip()).parent.name)
            lines.append(line)
        process.wait()
        if current is not None:
            yield finished(current, lines, started)
        elif process.returncode != 0:
            raise NbgraderError(f"nbgrader autograde {assignment} failed before grading anyone:\n{''.join(log)[-3000:]}")
    finally:
        watchdog.cancel()
        _stop(process)
        running.discard(process)
    for student in shard:
        if student not in seen:
            yield student, f"{NOT_GRADED} (it exited with code {process.returncode})", 0.0


def _unverifiable(folder: Path, student: str, sources: dict, problem: Exception) -> Outcome:
    """A submission the verification could not handle: every part fails, with the reason."""
    outcome = Outcome(student, fingerprint(folder))
    reason = f"the verification could not process this submission: {type(problem).__name__}: {str(problem)[:300]}"
    outcome.verdicts = {name: {grade_id: Verdict(False, reason) for grade_id in graded_parts(source)}
                        for name, source in sources.items()}
    outcome.notes.append(reason)
    return outcome


def _stop(process: subprocess.Popen) -> None:
    """Kill a process of ours and everything it started (nbgrader's kernels)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def _verify_submission(folder: Path, student: str, sources: dict, sandbox: Sandbox, taken: str) -> Outcome:
    """Verify the snapshot ``folder`` of one submission, whose fingerprint was ``taken`` before any code ran."""
    outcome = Outcome(student, taken)
    if fingerprint(folder) != taken:
        raise RuntimeError("the snapshot of this submission changed while it was graded")
    start = time.perf_counter()
    present = sorted(p.name for p in folder.glob("*.ipynb"))
    for name, source in sources.items():
        path = folder / name
        if not path.exists():
            outcome.notes.append(f"{name} is missing from the submission (found: {', '.join(present) or 'nothing'})")
            reason = f"the notebook {name} was not submitted under that name"
            outcome.verdicts[name] = {grade_id: Verdict(False, reason) for grade_id in graded_parts(source)}
            continue
        outcome.verdicts[name] = verify_notebook(path, source, sandbox)
        outcome.notes.extend(_missing_cells(path, source))
    extra = sorted(set(present) - set(sources))
    if extra:
        outcome.notes.append(f"notebooks that are not part of the assignment were ignored: {', '.join(extra)}")
    outcome.seconds["verify"] = round(time.perf_counter() - start, 3)
    return outcome


def _missing_cells(path: Path, source) -> list[str]:
    """Notes on the instructor's graded and solution cells that the submitted notebook lacks."""
    try:
        submitted = set(cells_by_grade_id(nbformat.read(str(path), as_version=4)))
    except Exception:  # noqa: BLE001 - an unreadable notebook is reported by the verification
        return []
    wanted = [nbgrader_meta(c)["grade_id"] for c in source.cells
              if nbgrader_meta(c).get("grade") or nbgrader_meta(c).get("solution")]
    missing = [grade_id for grade_id in wanted if grade_id not in submitted]
    return [f"{path.name}: cells deleted or renamed by the student: {', '.join(missing)}"] if missing else []


def _cause(output: str) -> str:
    """The line of nbgrader's output that says what went wrong: the last exception raised."""
    lines = [line.strip() for line in output.splitlines()]
    raised = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Entry): ", line)]
    return (raised[-1] if raised else lines[-1] if lines else "unknown error")[:400]


def _solution_cell_for(source, function: str) -> str | None:
    """The id of the solution cell of the instructor's notebook that defines ``function``."""
    for cell in solution_cells(source):
        if f"def {function}(" in cell.source:
            return nbgrader_meta(cell)["grade_id"]
    return None


def _reconcile(gradebook, assignment: str, outcome: Outcome, sources: dict, previous: set) -> tuple[dict, list]:
    """Write one outcome into nbgrader's gradebook.

    ``previous`` holds the ids of the grades this tool set to 0 on an earlier run; a part that
    passes now gets its own score back. Returns the report entry and the ids set to 0 this time.
    """
    from nbgrader.api import MissingEntry

    from .verify import checks_of_test_cell

    entry = {"student": outcome.student, "autograde_error": outcome.autograde_error, "notes": outcome.notes,
             "seconds": outcome.seconds, "parts": []}
    overridden = []
    for name, verdicts in outcome.verdicts.items():
        notebook_id = name[: -len(".ipynb")]
        tests = cells_by_grade_id(sources[name])
        comments: dict[str, list[str]] = {}
        for grade_id, verdict in verdicts.items():
            part = {"notebook": name, "part": grade_id, "verified": verdict.passed, "reason": verdict.reason,
                    "max_score": float(nbgrader_meta(tests[grade_id]).get("points", 0))}
            try:
                grade = gradebook.find_grade(grade_id, notebook_id, assignment, outcome.student)
            except MissingEntry:  # nbgrader could not grade this notebook at all
                part.update(nbgrader=None, score=0.0)
                entry["parts"].append(part)
                continue
            if not verdict.passed:
                grade.manual_score = 0.0
                grade.needs_manual_grade = False
                overridden.append(grade.id)
                for check in checks_of_test_cell(tests[grade_id].source):
                    cell = _solution_cell_for(sources[name], check.name)
                    if cell:
                        comments.setdefault(cell, []).append(verdict.reason)
            elif grade.id in previous and grade.manual_score == 0.0:
                grade.manual_score = None
            final = grade.manual_score if grade.manual_score is not None else (grade.auto_score or 0.0)
            part.update(nbgrader=grade.auto_score, score=float(final))
            entry["parts"].append(part)
        for cell in (nbgrader_meta(c)["grade_id"] for c in solution_cells(sources[name])):
            try:
                comment = gradebook.find_comment(cell, notebook_id, assignment, outcome.student)
            except MissingEntry:
                continue
            if cell in comments:
                comment.manual_comment = (f"{MARK} this part scores 0 because, run on its own on fresh inputs: "
                                          + "; ".join(comments[cell]))
            elif (comment.manual_comment or "").startswith(MARK):
                comment.manual_comment = None
    gradebook.db.commit()
    return entry, overridden


def _state_path(layout: CourseLayout, assignment: str) -> Path:
    return layout.root / "reports" / assignment / "state.json"


def _load_state(layout: CourseLayout, assignment: str) -> dict:
    path = _state_path(layout, assignment)
    return json.loads(path.read_text()) if path.exists() else {}


def _save_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(temporary, path)  # atomic: an interruption leaves the old file or the new one


def grade(course_dir: str | os.PathLike, assignment: str, *, students: list[str] | None = None,
          workers: int | None = None, force: bool = False, limits: Limits = Limits(),
          cell_timeout: float = 120, memory_bytes: int = 6 * 1024**3, feedback: bool = True,
          export: str | None = "grades.csv", progress: bool = True, sandbox: bool = True) -> dict:
    """Grade every submission of ``assignment``; return the report (also written to ``reports/``).

    Args:
        course_dir: the nbgrader course directory (holding ``nbgrader_config.py``).
        assignment: the assignment folder name, e.g. ``"01_rnn"``.
        students: only these students (default: every folder in ``submitted/``).
        workers: submissions graded at once (default: the number of cores).
        force: grade again submissions already graded and unchanged since.
        limits: the verification sandbox's limits per graded part (CPU time, memory, files).
        cell_timeout: nbgrader's time limit per cell, in seconds (a cell that runs past it is run once more).
        memory_bytes: the cap on private memory of nbgrader's kernel.
        feedback: run ``nbgrader generate_feedback`` at the end.
        export: the CSV file ``nbgrader export`` writes at the end (``None``: no export).
        progress: show a progress bar on stderr.
        sandbox: run all student code inside bubblewrap (the default; :class:`bubblewrap.SandboxUnavailable`
            where it cannot start). ``False`` grades with the Python-level guards alone.
    """
    from nbgrader.api import Gradebook
    from tqdm import tqdm

    layout = CourseLayout.load(course_dir)
    sources = layout.source_notebooks(assignment)
    parts = {}
    for source in sources.values():
        parts.update(graded_parts(source))  # every graded part must be verifiable, or nothing is graded
    released = f"`nbgrader generate_assignment {assignment}` in the course directory first"
    database = _database_path(layout)
    if not Path(database).exists():
        raise ValueError(f"there is no gradebook at {database}: run {released}")
    with Gradebook(layout.db_url) as gradebook:
        if assignment not in {a.name for a in gradebook.assignments}:
            raise ValueError(f"assignment {assignment!r} is not in the gradebook ({layout.db_url}): run {released}")
    bubblewrap.require(sandbox)  # after the arguments are checked, before anything is graded
    everyone = layout.students(assignment)
    chosen = everyone if students is None else [s for s in everyone if s in set(students)]
    if students is not None and len(chosen) != len(set(students)):
        missing = sorted(set(students) - set(everyone))
        raise ValueError(f"no submission of {assignment} for {', '.join(missing)} in {layout.root / layout.submitted}")
    state = _load_state(layout, assignment)
    work = Path(tempfile.mkdtemp(prefix="rnncourse-grade-"))
    try:
        # Snapshots first, before any student code runs; from here on only they are read.
        snapshots, taken, snapshot_notes = {}, {}, {}
        for student in chosen:
            folder = work / "snapshots" / student / assignment
            snapshot_notes[student] = snapshot(layout.submission(student, assignment), folder)
            snapshots[student], taken[student] = folder, fingerprint(folder)
        todo = [s for s in chosen if force or state.get(s, {}).get("fingerprint") != taken[s]]
        checks = list({check.name: check for found in parts.values() for check in found}.values())
        standin = str(kernel.standin_library(work / "standin", checks)) if sandbox else ""
        hide = os.pathsep.join([str(layout.root), str(Path(__file__).resolve().parents[1])])
        workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
        shards = [todo[k::workers] for k in range(workers)]
        done: queue.Queue = queue.Queue()
        running: set = set()

        def grade_shard(index: int, shard: list[str]) -> None:
            """Autograde a shard in its throw-away course, verifying each submission as soon as nbgrader is done."""
            try:
                course = work / f"course-{index}"
                db_url = _throwaway_course(layout, assignment, course, {s: snapshots[s] for s in shard})
                with Sandbox(layout.root, limits, sandbox=sandbox) as verifier:
                    for student, error, seconds in _autograde_shard(course, db_url, assignment, shard, cell_timeout,
                                                                    memory_bytes, running, standin, hide):
                        try:
                            outcome = _verify_submission(snapshots[student], student, sources, verifier, taken[student])
                        except Exception as problem:  # noqa: BLE001 - one submission never stops the class
                            outcome = _unverifiable(snapshots[student], student, sources, problem)
                        outcome.notes[:0] = snapshot_notes[student]
                        try:
                            outcome.autograded, notes = _autograde_results(db_url, assignment, student, sources)
                            outcome.notes.extend(notes)
                            outcome.autograded_folder = work / "autograded" / student
                            _collect_autograded(course, assignment, student, sources, outcome.autograded_folder)
                        except Exception as problem:  # noqa: BLE001 - unreadable results: no points from nbgrader
                            outcome.autograded = None
                            outcome.notes.append(f"nbgrader's results could not be read: {type(problem).__name__}")
                        outcome.autograde_error = error
                        outcome.seconds["autograde"] = seconds
                        done.put(outcome)
            except BaseException as error:  # noqa: BLE001 - handed to the main thread, which re-raises it
                done.put(error)

        bar = tqdm(total=len(todo), desc=f"grading {assignment}", unit="submission", disable=not progress,
                   file=sys.stderr)
        threads = [threading.Thread(target=grade_shard, args=(k, shard), daemon=True)
                   for k, shard in enumerate(shards) if shard]
        for thread in threads:
            thread.start()
        try:
            for _ in range(len(todo)):
                outcome = done.get()
                if isinstance(outcome, BaseException):
                    raise outcome
                with Gradebook(layout.db_url) as gradebook:
                    _record(gradebook, layout, assignment, outcome)
                    entry, overridden = _reconcile(gradebook, assignment, outcome, sources, set())
                # A submission nbgrader never reached is not done: the next run grades it again.
                graded = not outcome.autograde_error.startswith(NOT_GRADED)
                state[outcome.student] = {"fingerprint": outcome.fingerprint if graded else "", "entry": entry,
                                          "overridden": overridden}
                _save_json(_state_path(layout, assignment), state)
                bar.update(1)
        finally:
            bar.close()
            # After an interruption (Ctrl-C, an error): stop nbgrader; what is saved in state.json stays.
            for process in list(running):
                _stop(process)
            for thread in threads:
                thread.join(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if feedback:
        nbgrader(layout.root, "generate_feedback", assignment, "--force", f"--CourseDirectory.db_url={layout.db_url}")
    if export:
        nbgrader(layout.root, "export", "--to", str(Path(export)), f"--CourseDirectory.db_url={layout.db_url}")
    report = {"assignment": assignment, "students": [state[s]["entry"] for s in chosen if s in state]}
    _save_json(layout.root / "reports" / assignment / "report.json", report)
    (layout.root / "reports" / assignment / "report.md").write_text(render_report(report))
    return report


def render_report(report: dict) -> str:
    """The instructor's summary: scores, and every part where nbgrader and verification disagree."""
    lines = [f"# Grading report: {report['assignment']}", "",
             "| student | score | max | parts that lost points in verification | problems |",
             "|---|---|---|---|---|"]
    caught = []
    for entry in report["students"]:
        score = sum(p["score"] for p in entry["parts"])
        maximum = sum(p["max_score"] for p in entry["parts"])
        lost = [p for p in entry["parts"] if not p["verified"] and p["nbgrader"]]
        problems = "; ".join(filter(None, [entry["autograde_error"], *entry["notes"]]))
        lines.append(f"| {entry['student']} | {score:g} | {maximum:g} | {', '.join(p['part'] for p in lost)} | "
                     f"{problems.replace('|', '/')} |")
        caught.extend((entry["student"], p) for p in lost)
    lines += ["", "## Passed in the student's kernel, failed on their own", ""]
    if not caught:
        lines.append("None: every part that nbgrader's run accepted also passed the independent verification.")
    for student, part in caught:
        lines.append(f"- **{student}**, `{part['part']}` ({part['notebook']}): {part['reason']}")
    return "\n".join(lines) + "\n"
