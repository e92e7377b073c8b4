"""``rnncourse grade ASSIGNMENT``: nbgrader's autograde, then independent verification, for a class.

The submissions in ``submitted/<student>/<assignment>/`` are split into one shard per worker; the
shards are graded in parallel, each by one thread that

1. runs ``nbgrader autograde`` on its shard in one process (gradebook, feedback and export stay
   nbgrader's), with a time limit per cell and a cap on memory (:mod:`rnncourse.grading.nbexec`);
2. as nbgrader finishes each submission, checks every graded part again outside the student's
   kernel (:mod:`rnncourse.grading.verify`), while nbgrader goes on with the next one.

Then, one submission at a time in this process, the gradebook is reconciled: a part keeps its
points only if both passed. Where verification fails, the part's score is overridden with 0 and
the reason becomes a comment on the student's solution cell, which nbgrader's feedback shows. A
report (``reports/<assignment>/report.json`` and ``report.md``) lists every difference.

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
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat

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


def fingerprint(folder: Path) -> str:
    """A hash of every file of a submission, so that a resubmission is graded again."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


#: nbgrader's log lines that open a student's grading and report its failure (with its submission path).
_STUDENT_STARTS = re.compile(r"^\[AutogradeApp \| INFO\] Creating/updating student with ID '(.+?)': ")
_STUDENT_FAILED = re.compile(r"^\[AutogradeApp \| ERROR\] There was an error processing assignment: (.+)$")


def _autograde_shard(layout: CourseLayout, assignment: str, shard: list[str], everyone: list[str],
                     cell_timeout: float, memory_bytes: int, running: set):
    """Autograde the students of ``shard`` in one nbgrader process; yield ``(student, error, seconds)``
    as each one is done (``error`` is empty when nbgrader graded it).

    One process for many submissions saves nbgrader's start-up (about two seconds) per notebook;
    reading its log as it runs lets the verification of one student overlap the autograding of
    the next.
    """
    excluded = ",".join(student for student in everyone if student not in set(shard))
    command = [sys.executable, "-m", "rnncourse.grading.nbexec", str(int(memory_bytes)), "autograde", assignment,
               "--force", f"--CourseDirectory.student_id_exclude={excluded}",
               f"--CourseDirectory.db_url={layout.db_url}", f"--Execute.timeout={int(cell_timeout)}"]
    process = subprocess.Popen(command, cwd=layout.root, env=nbgrader_environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors="replace",
                               start_new_session=True)
    running.add(process)
    # A last resort: the per-cell limit normally ends a runaway notebook long before this.
    watchdog = threading.Timer((cell_timeout * 50 + 300) * len(shard), _stop, (process,))
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


def _unverifiable(layout: CourseLayout, assignment: str, student: str, sources: dict, problem: Exception) -> Outcome:
    """A submission the verification could not handle: every part fails, with the reason."""
    outcome = Outcome(student, fingerprint(layout.submission(student, assignment)))
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


def _verify_submission(layout: CourseLayout, assignment: str, student: str, sources: dict,
                       sandbox: Sandbox) -> Outcome:
    folder = layout.submission(student, assignment)
    outcome = Outcome(student, fingerprint(folder))
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
          export: str | None = "grades.csv", progress: bool = True) -> dict:
    """Grade every submission of ``assignment``; return the report (also written to ``reports/``).

    Args:
        course_dir: the nbgrader course directory (holding ``nbgrader_config.py``).
        assignment: the assignment folder name, e.g. ``"01_rnn"``.
        students: only these students (default: every folder in ``submitted/``).
        workers: submissions graded at once (default: the number of cores).
        force: grade again submissions already graded and unchanged since.
        limits: the sandbox's limits per graded part.
        cell_timeout: nbgrader's time limit per cell, in seconds.
        memory_bytes: the cap on private memory of nbgrader's kernel.
        feedback: run ``nbgrader generate_feedback`` at the end.
        export: the CSV file ``nbgrader export`` writes at the end (``None``: no export).
        progress: show a progress bar on stderr.
    """
    from nbgrader.api import Gradebook
    from tqdm import tqdm

    layout = CourseLayout.load(course_dir)
    sources = layout.source_notebooks(assignment)
    for source in sources.values():
        graded_parts(source)  # every graded part must be verifiable, or nothing is graded
    released = f"`nbgrader generate_assignment {assignment}` in the course directory first"
    database = layout.db_url.removeprefix("sqlite:///").split("?")[0]
    if layout.db_url.startswith("sqlite:///") and not Path(database).exists():
        raise ValueError(f"there is no gradebook at {database}: run {released}")
    with Gradebook(layout.db_url) as gradebook:
        if assignment not in {a.name for a in gradebook.assignments}:
            raise ValueError(f"assignment {assignment!r} is not in the gradebook ({layout.db_url}): run {released}")
    everyone = layout.students(assignment)
    chosen = everyone if students is None else [s for s in everyone if s in set(students)]
    if students is not None and len(chosen) != len(set(students)):
        missing = sorted(set(students) - set(everyone))
        raise ValueError(f"no submission of {assignment} for {', '.join(missing)} in {layout.root / layout.submitted}")
    state = _load_state(layout, assignment)
    todo = [s for s in chosen if force or state.get(s, {}).get("fingerprint") != fingerprint(layout.submission(s, assignment))]
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    shards = [todo[k::workers] for k in range(workers)]
    done: queue.Queue = queue.Queue()
    running: set = set()

    def grade_shard(shard: list[str]) -> None:
        """Autograde a shard, verifying each submission as soon as nbgrader is done with it."""
        try:
            with Sandbox(layout.root, limits) as sandbox:
                for student, error, seconds in _autograde_shard(layout, assignment, shard, everyone,
                                                                cell_timeout, memory_bytes, running):
                    try:
                        outcome = _verify_submission(layout, assignment, student, sources, sandbox)
                    except Exception as problem:  # noqa: BLE001 - one submission never stops the class
                        outcome = _unverifiable(layout, assignment, student, sources, problem)
                    outcome.autograde_error = error
                    outcome.seconds["autograde"] = seconds
                    done.put(outcome)
        except BaseException as error:  # noqa: BLE001 - handed to the main thread, which re-raises it
            done.put(error)

    bar = tqdm(total=len(todo), desc=f"grading {assignment}", unit="submission", disable=not progress, file=sys.stderr)
    threads = [threading.Thread(target=grade_shard, args=(shard,), daemon=True) for shard in shards if shard]
    for thread in threads:
        thread.start()
    try:
        for _ in range(len(todo)):
            outcome = done.get()
            if isinstance(outcome, BaseException):
                raise outcome
            previous = set(state.get(outcome.student, {}).get("overridden", []))
            with Gradebook(layout.db_url) as gradebook:
                entry, overridden = _reconcile(gradebook, assignment, outcome, sources, previous)
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
