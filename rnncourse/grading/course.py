"""Driving nbgrader on a course directory, the way an instructor does from the shell.

nbgrader runs as a subprocess of this interpreter (``python -m nbgrader``), with this environment's
``bin`` first on ``PATH`` because nbgrader itself calls the ``alembic`` command it installs.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries its output."""


def nbgrader_environment() -> dict:
    """This process's environment with this interpreter's ``bin`` first on ``PATH`` (nbgrader calls ``alembic``)."""
    return dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


def nbgrader(course_dir: str | os.PathLike, *args: str, timeout: float | None = None,
             memory_bytes: int | None = None) -> str:
    """Run ``nbgrader ARGS`` in ``course_dir`` and return its output; raise :class:`NbgraderError` on failure.

    With ``memory_bytes``, nbgrader runs through :mod:`rnncourse.grading.nbexec`: its private
    memory and each kernel's are capped, so that a memory bomb fails that cell instead of the
    machine, and a kernel that dies is restarted instead of failing the whole notebook.
    """
    env = nbgrader_environment()
    if memory_bytes is None:
        command = [sys.executable, "-m", "nbgrader", *args]
    else:
        command = [sys.executable, "-m", "rnncourse.grading.nbexec", str(int(memory_bytes)), "", "", *args]
    # A session of its own, so that a timeout also stops the kernels nbgrader started.
    process = subprocess.Popen(command, cwd=course_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise NbgraderError(f"nbgrader {' '.join(args)} did not finish within {timeout:g} s") from error
    # nbgrader logs some recoverable problems at ERROR level; this line is how it reports a failure.
    if process.returncode != 0 or "There was an error processing" in output:
        raise NbgraderError(f"nbgrader {' '.join(args)} failed in {course_dir}:\n{output[-4000:]}")
    return output


def assignments(course_dir: str | os.PathLike, source_directory: str = "solutions") -> list[str]:
    """The assignment folders of the course, sorted (``01_rnn``, ``02_lstm``, …)."""
    root = Path(course_dir) / source_directory
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
