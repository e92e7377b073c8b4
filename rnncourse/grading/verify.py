"""Independent verification of a submission, outside the student's kernel.

nbgrader runs the test cells in the student's own kernel, where a solution cell can patch the
checker, ``torch.allclose`` or builtins. Here the roles are split between two processes:

- this, the grading process, reads the graded parts from the *instructor's* notebook, makes fresh
  random cases, computes the reference answers and compares. It never executes student code;
- a sandbox (:mod:`rnncourse.grading.isolation`, run as a script inside bubblewrap, see
  :class:`Sandbox`) executes the student's cells with limits, where neither ``rnncourse`` nor the
  course exists, calls the functions on the cases and returns plain arrays.

A graded part is the test cell of the instructor's notebook; the checks it calls
(``checks.<name>(<function>, ...)``) are what is verified for it. :func:`verify_notebook` returns
a :class:`Verdict` per test cell id.
"""
from __future__ import annotations

import ast
import base64
import binascii
import dataclasses
import io
import json
import os
import secrets
import shutil
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
from .notebooks import graded_cells, nbgrader_meta


@dataclasses.dataclass(frozen=True)
class Limits:
    """What the sandbox allows each graded part (all of its cases together).

    Time is counted as **CPU time** where it matters (a part is charged for the CPU its process
    uses, not for the time it waits while the machine is busy with other work), with a generous
    wall-clock backstop for code that only sleeps. A part that hits either is run once more before
    it scores zero, and the reason names the limit.
    """

    part_seconds: float = 60.0      # CPU time for running the cells and every case of one part
    cell_seconds: float = 20.0      # CPU time of one cell before it is interrupted
    memory_bytes: int = 2 * 1024**3  # private memory above what numpy and torch already take
    file_bytes: int = 16 * 1024**2   # the largest file the student's code may write
    wall_factor: float = 4.0         # the wall-clock backstop: this many times part_seconds, plus 30 s

    @property
    def part_wall_seconds(self) -> float:
        return self.wall_factor * self.part_seconds + 30.0


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


#: The standalone files the verification sandbox runs: no reference implementation among them.
SANDBOX_FILES = ("isolation.py", "guards.py", "refusal.py", "forbidden.py")


class Sandbox:
    """Runs a submission's code for verification, one fresh sandbox per notebook.

    Each :meth:`run` starts ``isolation.py`` (a script: it holds no ``rnncourse``) in a new
    bubblewrap sandbox (:mod:`rnncourse.grading.bubblewrap`): a read-only system and Python, a
    private ``/tmp``, no network, its own PID namespace that dies with it, and only the job's
    scratch folder writable; the course, the ``rnncourse`` package and the instructor's notebooks
    are not mounted at all. Inside, every part runs in a forked child with the Python-level
    guards (:mod:`rnncourse.grading.guards`) and the dispatcher refusals
    (:mod:`rnncourse.grading.refusal`) as a second layer. The answers come back on the sandbox's
    standard output, which the student's children cannot write to.

    ``sandbox=False`` (``rnncourse grade --no-sandbox``) runs the same script without bubblewrap,
    protected by the Python-level guards alone.
    """

    def __init__(self, course_dir: Path, limits: Limits = Limits(), sandbox: bool = True) -> None:
        from . import bubblewrap

        bubblewrap.require(sandbox)
        self.course_dir = Path(course_dir)
        self.limits = limits
        self.sandboxed = sandbox
        self.home = tempfile.mkdtemp(prefix="rnncourse-verify-")
        self.grader = os.path.join(self.home, "grader")
        os.mkdir(self.grader)
        here = Path(__file__).resolve().parent
        for name in SANDBOX_FILES:
            shutil.copy(here / name, os.path.join(self.grader, name))

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.home, ignore_errors=True)

    def _command(self, workdir: str) -> tuple[list[str], dict]:
        from . import bubblewrap

        script = [sys.executable, "-I", os.path.join(self.grader, "isolation.py"), workdir]
        threads = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        if not self.sandboxed:
            return script, {"PATH": os.environ.get("PATH", ""), "HOME": workdir, **threads}
        environment = {"PATH": "/usr/bin:/bin", "HOME": workdir, "PYTHONDONTWRITEBYTECODE": "1", **threads}
        hidden = [self.course_dir, *_blocked_roots()]
        return bubblewrap.command(script, writable=[workdir], readable=[self.grader], hidden=hidden,
                                  env=environment, chdir=workdir), {"PATH": os.environ.get("PATH", "")}

    def _job(self, cells, parts, workdir: str) -> None:
        limits = self.limits
        job = {
            "cells": cells,
            "parts": [],
            "limits": {"part_cpu_seconds": limits.part_seconds, "part_wall_seconds": limits.part_wall_seconds,
                       "cell_cpu_seconds": limits.cell_seconds, "memory_bytes": limits.memory_bytes,
                       "file_bytes": limits.file_bytes},
            "readable_roots": _readable_roots(self.course_dir) + ([] if self.sandboxed else [self.grader]),
            "blocked_roots": _blocked_roots(),
            "own_pid_namespace": self.sandboxed,
            "block_exec": True,
        }
        for index, (check, cases) in enumerate(parts):
            arguments = list(cases[0]) if cases else []
            job["parts"].append({"function": check.name, "arguments": arguments, "cases": len(cases),
                                 "outputs": len(check.outputs), "forbidden": check.forbidden_spec()})
            np.savez(os.path.join(workdir, f"inputs_{index}.npz"),
                     **{f"c{c}_{name}": case[name] for c, case in enumerate(cases) for name in arguments})
        with open(os.path.join(workdir, "job.json"), "w") as handle:
            json.dump(job, handle)

    def _once(self, cells, parts) -> list[tuple[dict, dict | None]]:
        """One sandbox for ``parts``; per part, how its child ended and what it returned."""
        workdir = tempfile.mkdtemp(prefix="job-", dir=self.home)
        try:
            self._job(cells, parts, workdir)
            command, environment = self._command(workdir)
            # Every part has its own limits inside; this covers starting python and torch, and all parts.
            backstop = self.limits.part_wall_seconds * len(parts) + 120
            answer = {}
            try:
                done = subprocess.run(command, cwd=workdir, env=environment, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=backstop)
                answer = _parse_answer(done.stdout, len(parts))
                if answer is None:
                    answer = {"sandbox": f"the sandbox ended (exit code {done.returncode}) without a valid answer"}
            except subprocess.TimeoutExpired:
                answer = {"sandbox": f"the sandbox ran past its backstop of {backstop:g} s and was stopped"}
            results = []
            for index, (check, cases) in enumerate(parts):
                if "parts" not in answer:
                    results.append(({"sandbox": answer["sandbox"]}, None))
                    continue
                ended, data = answer["parts"][index]
                results.append((ended, _load_result(data, len(check.outputs), len(cases))))
            return results
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def run(self, cells: list[dict], parts: list[tuple[Check, list[dict]]]) -> list[tuple[dict, dict | None]]:
        """Run ``parts`` (each a check and its cases) against the student's ``cells``.

        Returns, per part, ``(how its child ended, {"status": ..., "outputs": {case: [arrays]}} or None)``.
        A part that hit a time limit is run once more, on its own, before that counts.
        """
        results = self._once(cells, parts)
        again = [index for index, (ended, _) in enumerate(results) if ended.get("limit")]
        if again:
            retried = self._once(cells, [parts[index] for index in again])
            for index, (ended, result) in zip(again, retried):
                ended = dict(ended, retried=True)
                results[index] = (ended, result)
        return results


def _parse_answer(stdout: bytes, parts: int) -> dict | None:
    """The sandbox's answer (its last line of output), checked strictly; ``None`` if malformed."""
    lines = stdout.strip().splitlines()
    if not lines or len(stdout) > (MAX_RESULT_BYTES * 2 + 1_000_000) * max(parts, 1):
        return None
    try:
        answer = json.loads(lines[-1])
        found = answer["parts"]
        if not isinstance(found, list) or len(found) != parts:
            return None
        checked = []
        for item in found:
            ended = item["ended"]
            if not isinstance(ended, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, float, bool))
                                                      for k, v in ended.items()):
                return None
            checked.append((ended, base64.b64decode(item["result"], validate=True)))
        return {"parts": checked}
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


#: The largest result file read back; a part's outputs are a few small arrays.
MAX_RESULT_BYTES = 64 * 1024**2


def _load_result(data: bytes, outputs: int, cases: int) -> dict | None:
    """The arrays a part's child sent, or ``None`` if it sent nothing usable. Never unpickles."""
    if not data or len(data) > MAX_RESULT_BYTES:
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
    twice = " (twice: it was run once more in case the machine was only busy)" if ended.get("retried") else ""
    if ended.get("limit") == "cpu":
        return (f"it used more than its limit of {limits.part_seconds:g} s of CPU time (an infinite loop?) "
                f"and was stopped{twice}")
    if ended.get("limit") == "wall":
        return (f"it ran past the wall-clock limit of {limits.part_wall_seconds:g} s without using its CPU time "
                f"(waiting or sleeping?) and was stopped{twice}")
    if ended.get("limit") == "memory":
        return f"it used more than its memory limit of {limits.memory_bytes / 2**20:g} MiB{twice}"
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
