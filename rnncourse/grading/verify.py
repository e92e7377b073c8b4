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
import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import nbformat
import numpy as np

from . import REGISTRY
from .core import VISIBLE_SEED, Check
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
    """``{test cell id: [checks]}`` for every graded test cell of the instructor's notebook."""
    return {nbgrader_meta(cell)["grade_id"]: checks_of_test_cell(cell.source) for cell in graded_cells(source_notebook)}


def student_cells(submission, test_cell_ids) -> list[dict]:
    """The code cells to run in the sandbox: every code cell of the submission but the graded tests.

    IPython syntax (magics, ``!commands``) is turned into plain Python calls, which the sandbox's
    ``get_ipython()`` ignores.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    transformer = TransformerManager()
    cells = []
    for index, cell in enumerate(submission.cells):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if cell.get("cell_type") != "code" or grade_id in test_cell_ids:
            continue
        try:
            source = transformer.transform_cell(cell.source)
        except Exception:  # noqa: BLE001 - a malformed cell runs as written and fails in the sandbox
            source = cell.source
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
        with tempfile.TemporaryDirectory(prefix="job-", dir=self.home) as workdir:
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
                                     "outputs": len(check.outputs), "forbidden": list(check.forbidden)})
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


def _load_result(path: str, outputs: int, cases: int) -> dict | None:
    """The arrays a child wrote, or ``None`` if it wrote nothing readable. Never unpickles."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            status = json.loads(stored["__status__"].tobytes().decode())
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
    unknown = [grade_id for grade_id, checks in parts.items() if not checks]
    if unknown:
        raise ValueError(f"the test cells {unknown} call no registered check; every graded part needs one")
    seed = secrets.randbits(63) if seed is None else seed
    jobs = []
    for checks in parts.values():
        for check in checks:
            cases = check.cases(VISIBLE_SEED, hidden=False) + check.cases(seed, hidden=True)
            jobs.append((check, cases))
    results = sandbox.run(student_cells(submission, set(parts)), jobs)
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
