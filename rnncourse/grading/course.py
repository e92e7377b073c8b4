"""Driving nbgrader on a course directory, the way an instructor does from the shell.

nbgrader runs as a subprocess of this interpreter (``python -m nbgrader``), with this environment's
``bin`` first on ``PATH`` because nbgrader itself calls the ``alembic`` command it installs.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries its output."""


def nbgrader(course_dir: str | os.PathLike, *args: str, timeout: float | None = None) -> str:
    """Run ``nbgrader ARGS`` in ``course_dir`` and return its output; raise :class:`NbgraderError` on failure."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    process = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=course_dir, env=env, capture_output=True, text=True,
        timeout=timeout,
    )
    output = process.stdout + process.stderr
    if process.returncode != 0 or "[ERROR]" in output or "| ERROR]" in output:
        raise NbgraderError(f"nbgrader {' '.join(args)} failed in {course_dir}:\n{output[-4000:]}")
    return output


def assignments(course_dir: str | os.PathLike, source_directory: str = "solutions") -> list[str]:
    """The assignment folders of the course, sorted (``01_rnn``, ``02_lstm``, …)."""
    root = Path(course_dir) / source_directory
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
