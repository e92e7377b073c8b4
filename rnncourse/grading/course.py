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


#: Starts nbgrader under a cap on private memory, which its kernels inherit.
_LIMITED_LAUNCH = (
    "import resource, runpy, sys; limit = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_DATA, (limit, limit)); "
    "sys.argv = ['nbgrader'] + sys.argv[2:]; runpy.run_module('nbgrader', run_name='__main__')"
)


def nbgrader(course_dir: str | os.PathLike, *args: str, timeout: float | None = None,
             memory_bytes: int | None = None) -> str:
    """Run ``nbgrader ARGS`` in ``course_dir`` and return its output; raise :class:`NbgraderError` on failure.

    ``memory_bytes`` caps the private memory of nbgrader and of each kernel it starts, so that a
    memory bomb in one submission fails that cell instead of the machine.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    if memory_bytes is None:
        command = [sys.executable, "-m", "nbgrader", *args]
    else:
        command = [sys.executable, "-c", _LIMITED_LAUNCH, str(int(memory_bytes)), *args]
    # A session of its own, so that a timeout also stops the kernels nbgrader started.
    process = subprocess.Popen(command, cwd=course_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as error:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise NbgraderError(f"nbgrader {' '.join(args)} did not finish within {timeout:g} s") from error
    if process.returncode != 0 or "[ERROR]" in output or "| ERROR]" in output:
        raise NbgraderError(f"nbgrader {' '.join(args)} failed in {course_dir}:\n{output[-4000:]}")
    return output


def assignments(course_dir: str | os.PathLike, source_directory: str = "solutions") -> list[str]:
    """The assignment folders of the course, sorted (``01_rnn``, ``02_lstm``, …)."""
    root = Path(course_dir) / source_directory
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
