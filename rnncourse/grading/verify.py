"""Independent verification of a submission, outside the student's kernel.

nbgrader runs the test cells in the student's own kernel, where a solution cell can patch the
checker, ``torch.allclose`` or builtins. Here the roles are split between two processes:

- this, the grading process, reads the graded parts from the *instructor's* notebook, makes fresh
  random cases, computes the reference answers and compares. It never executes student code;
- a sandbox process (:mod:`rnncourse.grading.isolation`, run as a script) executes the student's
  cells with limits and without access to ``rnncourse``, calls the functions on the cases and
  returns plain arrays.

A graded part is the test cell of the instructor's notebook; the checks it calls
(``checks.<name>(<function>, ...)``) are what is verified for it. :func:`verify_notebook` returns
a :class:`Verdict` per test cell id.
"""
from __future__ import annotations

import ast
import dataclasses
import io
import json
import os
import secrets
import select
import shutil
import stat
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

import nbformat
import numpy as np

from . import REGISTRY
from .core import VISIBLE_SEED, Check
from .forbidden import resolve
from .notebooks import graded_cells, nbgrader_meta


@dataclasses.dataclass(frozen=True)
class Limits:
    """What the sandbox allows each graded part (all of its cases together)."""

    part_seconds: float = 60.0      # wall time for running the cells and every case of one part
    cell_seconds: float = 20.0      # wall time of one cell before it is interrupted
    memory_bytes: int = 2 * 1024**3  # private memory above what numpy and torch already take
    file_bytes: int = 16 * 1024**2   # the largest file the student's code may write


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The verification of one graded part (a test cell): passed, or the reason it did not."""

    passed: bool
    reason: str = ""


def checks_of_test_cell(source: str) -> list[Check]:
    """The checks a test cell calls, found in its code: ``checks.<name>(...)`` for a registered name."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "checks"
                and node.func.attr in REGISTRY and REGISTRY[node.func.attr] not in found):
            found.append(REGISTRY[node.func.attr])
    return found


def graded_parts(source_notebook) -> dict[str, list[Check]]:
    """``{test cell id: [checks]}`` for every graded test cell of the instructor's notebook.

    Raises ``ValueError`` naming the test cells that call no registered check: such a part could
    not be verified, so it is refused before any submission is graded.
    """
    parts = {nbgrader_meta(cell)["grade_id"]: checks_of_test_cell(cell.source) for cell in graded_cells(source_notebook)}
    unknown = [grade_id for grade_id, checks in parts.items() if not checks]
    if unknown:
        raise ValueError(f"the test cells {unknown} call no check of rnncourse.grading; every graded part needs one")
    return parts


#: Cell magics whose body is ordinary Python that must still run: the magic line is dropped.
TRANSPARENT_CELL_MAGICS = ("%%time", "%%timeit", "%%capture", "%%prun")


def student_cells(submission, source_notebook) -> list[dict]:
    """The code cells to run in the sandbox, in the submission's order.

    Graded test cells are left out; a locked cell of the instructor's (a setup cell) runs as the
    instructor wrote it, as nbgrader does. IPython syntax (magics, ``!commands``) becomes plain
    Python calls, which the sandbox's ``get_ipython()`` ignores; the body of a timing or capturing
    cell magic runs as code.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    instructor = {nbgrader_meta(c)["grade_id"]: c for c in source_notebook.cells if nbgrader_meta(c).get("grade_id")}
    transformer = TransformerManager()
    cells = []
    for index, cell in enumerate(submission.cells):
        grade_id = nbgrader_meta(cell).get("grade_id")
        trusted = instructor.get(grade_id)
        if cell.get("cell_type") != "code" or (trusted is not None and nbgrader_meta(trusted).get("grade")):
            continue
        if trusted is not None and nbgrader_meta(trusted).get("locked") and not nbgrader_meta(trusted).get("solution"):
            cell = trusted
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        first, _, body = source.lstrip().partition("\n")
        if first.strip().split(" ")[0] in TRANSPARENT_CELL_MAGICS:
            source = body
        try:
            source = transformer.transform_cell(source)
        except Exception:  # noqa: BLE001 - a malformed cell runs as written and fails in the sandbox
            pass
        cells.append({"id": grade_id or f"#{index + 1}", "source": source})
    return cells


def _readable_roots(course_dir: Path) -> list[str]:
    """Where the sandbox may read: the standard library and the installed packages, none of which
    may contain the course (whose solutions and hidden tests the student must not see)."""
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")} | {sys.base_prefix, sys.prefix}
    course = course_dir.resolve()
    return sorted(root for root in roots if course != Path(root).resolve()
                  and Path(root).resolve() not in course.parents)


def _blocked_roots() -> list[str]:
    """Never readable from the sandbox, even inside a readable root: the reference implementation."""
    return [str(Path(__file__).resolve().parents[1])]


class Sandbox:
    """A sandbox server (``isolation.py --serve``): numpy and torch loaded once, one job at a time.

    Use one per worker thread, as a context manager. Each :meth:`run` forks fresh children in the
    server for the student's code; if the server itself is gone, the next job starts a new one.
    """

    def __init__(self, course_dir: Path, limits: Limits = Limits()) -> None:
        self.course_dir = Path(course_dir)
        self.limits = limits
        self.process: subprocess.Popen | None = None
        self.home = tempfile.mkdtemp(prefix="rnncourse-sandbox-")

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        shutil.rmtree(self.home, ignore_errors=True)

    def _server(self) -> subprocess.Popen:
        if self.process is None or self.process.poll() is not None:
            isolation = Path(__file__).with_name("isolation.py")
            environment = {"PATH": os.environ.get("PATH", ""), "HOME": self.home, "OMP_NUM_THREADS": "1",
                           "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
            self.process = subprocess.Popen(
                [sys.executable, "-I", str(isolation), "--serve"], cwd=self.home, env=environment,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )
        return self.process

    def _ask(self, workdir: str, seconds: float) -> bool:
        """Send one job to the server; whether it answered within ``seconds``."""
        server = self._server()
        try:
            server.stdin.write(workdir + "\n")
            server.stdin.flush()
        except OSError:
            self.process = None
            return False
        ready, _, _ = select.select([server.stdout], [], [], seconds)
        if ready and server.stdout.readline().strip() == "done":
            return True
        server.kill()
        server.wait()
        self.process = None
        return False

    def run(self, cells: list[dict], parts: list[tuple[Check, list[dict]]]) -> list[tuple[dict, dict | None]]:
        """Run ``parts`` (each a check and its cases) against the student's ``cells``.

        Returns, per part, ``(how its child ended, {"status": ..., "outputs": {case: [arrays]}} or None)``.
        """
        with tempfile.TemporaryDirectory(prefix="job-", dir=self.home, ignore_cleanup_errors=True) as workdir:
            job = {
                "cells": cells,
                "parts": [],
                "limits": dataclasses.asdict(self.limits),
                "readable_roots": _readable_roots(self.course_dir),
                "blocked_roots": _blocked_roots(),
            }
            for index, (check, cases) in enumerate(parts):
                arguments = list(cases[0]) if cases else []
                job["parts"].append({"function": check.name, "arguments": arguments, "cases": len(cases),
                                     "outputs": len(check.outputs), "forbidden": list(resolve(check.forbidden)[1])})
                np.savez(os.path.join(workdir, f"inputs_{index}.npz"),
                         **{f"c{c}_{name}": case[name] for c, case in enumerate(cases) for name in arguments})
            with open(os.path.join(workdir, "job.json"), "w") as handle:
                json.dump(job, handle)
            # Every child has its own deadline; the margin covers starting python and torch.
            answered = self._ask(workdir, self.limits.part_seconds * len(parts) + 120)
            summary_path = os.path.join(workdir, "summary.json")
            summary = json.load(open(summary_path)) if answered and os.path.exists(summary_path) else []
            results = []
            for index, (check, cases) in enumerate(parts):
                ended = summary[index] if index < len(summary) else {"sandbox": "the sandbox did not finish"}
                path = os.path.join(workdir, f"result_{index}.npz")
                results.append((ended, _load_result(path, len(check.outputs), len(cases))))
            return results


#: The largest result file read back; a part's outputs are a few small arrays.
MAX_RESULT_BYTES = 64 * 1024**2


def _read_regular_file(path: str, limit: int) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes, without following a
    link or blocking on a FIFO the student's code may have put in its place; else ``None``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit + 1)
    finally:
        os.close(fd)


def _load_result(path: str, outputs: int, cases: int) -> dict | None:
    """The arrays a child wrote, or ``None`` if it wrote nothing usable. Never unpickles."""
    data = _read_regular_file(path, MAX_RESULT_BYTES)
    if not data:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # npz members are stored uncompressed by np.savez; anything else could be a zip bomb.
            if any(member.compress_type != zipfile.ZIP_STORED for member in archive.infolist()):
                return None
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            status = json.loads(stored["__status__"].tobytes().decode())
            if not (isinstance(status, dict) and isinstance(status.get("cases", []), list)
                    and isinstance(status.get("cells", []), list)
                    and all(isinstance(item, (str, type(None))) for item in status.get("cases", []))):
                return None
            found = {}
            for case in range(cases):
                keys = [f"c{case}_o{k}" for k in range(outputs)]
                if all(key in stored for key in keys):
                    found[case] = [np.asarray(stored[key], dtype=np.float64) for key in keys]
            return {"status": status, "outputs": found}
    except Exception:  # noqa: BLE001 - an empty, truncated or forged file means no result
        return None


def _why_no_result(ended: dict, limits: Limits) -> str:
    if ended.get("timed_out"):
        return f"it ran past the time limit of {limits.part_seconds:g} s (an infinite loop?) and was stopped"
    if "signal" in ended:
        return f"the process running it was killed by {ended['signal']} (a crash, or a memory or CPU limit)"
    if "sandbox" in ended:
        return ended["sandbox"]
    return f"the process running it ended (exit code {ended.get('exit_code')}) before returning results"


def judge(check: Check, cases: list[dict], ended: dict, result: dict | None, limits: Limits) -> Verdict:
    """Compare what the sandbox returned for one check with the reference, in this process."""
    if result is None:
        return Verdict(False, f"{check.name}: {_why_no_result(ended, limits)}")
    status = result["status"]
    if "crash" in status:
        return Verdict(False, f"{check.name}: the sandbox could not run your code: {status['crash']}")
    if "missing" in status:
        cells = "; ".join(status.get("cells", [])[:3])
        return Verdict(False, status["missing"] + (f" ({cells})" if cells else ""))
    for index, case in enumerate(cases):
        error = status["cases"][index] if index < len(status["cases"]) else "no result"
        if error is not None:
            return Verdict(False, f"{check.name} raised {error} (called as {check.signature})")
        if index not in result["outputs"]:
            return Verdict(False, f"{check.name} returned no usable output for case {index + 1}")
        message = check.compare(result["outputs"][index], check.expected(case), case)
        if message is not None:
            return Verdict(False, message)
    return Verdict(True)


def verify_notebook(submission_path: Path, source_notebook, sandbox: Sandbox,
                    seed: int | None = None) -> dict[str, Verdict]:
    """Verify every graded part of one submitted notebook in ``sandbox``; ``{test cell id: Verdict}``."""
    parts = graded_parts(source_notebook)
    try:
        submission = nbformat.read(str(submission_path), as_version=4)
    except Exception as error:  # noqa: BLE001 - a broken file is a verdict, not a crash of the grader
        reason = f"the notebook {Path(submission_path).name} could not be read: {type(error).__name__}: {error}"
        return {grade_id: Verdict(False, reason) for grade_id in parts}
    seed = secrets.randbits(63) if seed is None else seed
    jobs = []
    for checks in parts.values():
        for check in checks:
            cases = check.cases(VISIBLE_SEED, hidden=False) + check.cases(seed, hidden=True)
            jobs.append((check, cases))
    try:
        cells = student_cells(submission, source_notebook)
    except Exception as error:  # noqa: BLE001 - a malformed notebook is a verdict, not a crash of the grader
        reason = f"the notebook {Path(submission_path).name} is malformed: {type(error).__name__}: {error}"
        return {grade_id: Verdict(False, reason) for grade_id in parts}
    results = sandbox.run(cells, jobs)
    outcome = iter(zip(jobs, results))
    verdicts = {}
    for grade_id, checks in parts.items():
        verdict = Verdict(True)
        for _ in checks:
            (check, cases), (ended, result) = next(outcome)
            if verdict.passed:
                verdict = judge(check, cases, ended, result, sandbox.limits)
        verdicts[grade_id] = verdict
    return verdicts
