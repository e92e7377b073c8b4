"""Running a student's code where it can neither see the answers nor change the verdict.

This file is run as a *script* by :mod:`rnncourse.grading.verify`, inside bubblewrap
(:mod:`rnncourse.grading.bubblewrap`): ``python -I /grader/isolation.py /job``. There, the
``rnncourse`` package, the course, the hidden tests and the instructor's notebooks are not mounted
at all; only this file, ``guards.py``, ``refusal.py`` and ``forbidden.py`` (mounted read-only at
``/grader``), the Python installation (read-only) and ``/job`` (the submission's scratch copy, the
only writable place) exist. It imports only the standard library, numpy and torch.

The job (``/job/job.json`` and ``/job/inputs_<k>.npz``, written by the grader) lists the student's
code cells and, per graded part, the function to call, its inputs and what it may not use. For each
part, this process forks a child that

1. sends stdout/stderr to ``/dev/null`` and refuses, for the rest of its life, what the part
   forbids (:func:`refusal.install`: the aten operators at the dispatcher, the Python names,
   autograd's counters watched) and the library calls that do file I/O in C;
2. refuses ``execve`` (seccomp), applies the limits (CPU time, memory, file size) and the
   Python-level guards (:mod:`guards`);
3. executes the student's cells (each under a CPU-time alarm), calls the part's function on every
   case, checks that every guard is still in place, and writes the outputs as plain arrays (``.npz``,
   never pickle) into a pipe to this process.

This process waits for each child (its CPU time is limited by ``RLIMIT_CPU``; a generous wall-clock
deadline catches a child that only sleeps), then kills every other process of the sandbox (a
detached grandchild does not outlive its part) before the next part starts. At the end it writes
one JSON line to stdout: per part, how the child ended and its arrays. The grading process, which
never runs student code, loads the arrays and compares them with the reference.
"""
from __future__ import annotations

import base64
import builtins
import io
import json
import os
import select
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # guards, refusal, forbidden (``-I`` leaves it out)

import guards  # noqa: E402
import refusal  # noqa: E402

#: Library calls that read or write files in C, where the audit hook does not see them.
FILE_SHORTCUTS = ("torch.save", "torch.load", "torch.from_file", "torch.UntypedStorage.from_file",
                  "numpy.load", "numpy.save", "numpy.fromfile", "numpy.memmap", "numpy.loadtxt")

#: The most a part's child may send back.
MAX_RESULT_BYTES = 64 * 1024**2


class CellTimeout(BaseException):
    """Raised by the CPU-time alarm when one cell runs past its limit."""


def _on_alarm(signum, frame):
    raise CellTimeout("cell time limit")


def _run_cells(cells, namespace, seconds: float) -> list[str]:
    """Execute each cell; return one line per cell that failed (they do not stop the others)."""
    problems = []
    for cell in cells:
        signal.setitimer(signal.ITIMER_PROF, seconds)
        try:
            exec(compile(cell["source"], f"<cell {cell['id']}>", "exec"), namespace)
        except CellTimeout:
            problems.append(f"cell {cell['id']} ran past its limit of {seconds:g} s of CPU time")
        except BaseException as error:  # noqa: BLE001 - a student's cell may raise anything, SystemExit too
            problems.append(f"cell {cell['id']} raised {type(error).__name__}: {str(error)[:300]}")
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    return problems


def _as_arrays(result, outputs: int, numpy, torch):
    values = (result,) if outputs == 1 else result
    if outputs > 1 and (not isinstance(result, (tuple, list)) or len(result) != outputs):
        raise TypeError(f"expected a tuple of {outputs} tensors, got {type(result).__name__}")
    arrays = []
    for value in values:
        if type(value) is not torch.Tensor and not isinstance(value, torch.Tensor):
            raise TypeError(f"expected a torch.Tensor, got {type(value).__name__}")
        arrays.append(numpy.array(value.detach().to("cpu", torch.float64).tolist(), dtype=numpy.float64))
    return arrays

def _run_part(job: dict, index: int, cases: list, workdir: str, result_fd: int) -> None:
    """The child: guard, restrict, run the cells and the part, write the arrays, exit. Never returns."""
    import numpy
    import torch

    part = job["parts"][index]
    status = {"cells": [], "cases": [], "guards": []}
    arrays = {}
    try:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        # Printing costs time, never memory: whatever the student prints goes nowhere.
        sys.stdout = sys.stderr = open(os.devnull, "w")
        # Scratch space for libraries that want one (tempfile, matplotlib), inside the work directory.
        os.environ["TMPDIR"] = os.environ["MPLCONFIGDIR"] = workdir
        import tempfile

        tempfile.tempdir = workdir
        guard = refusal.install(tuple(part["forbidden"]) + FILE_SHORTCUTS, part["function"])
        if job.get("block_exec", True) and not guards.block_exec():
            status["notes"] = ["execve could not be refused on this machine"]
        guards.restrict(job, workdir)
        signal.signal(signal.SIGPROF, _on_alarm)
        namespace = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": lambda: _NoIPython()}
        status["cells"] = _run_cells(job["cells"], namespace, job["limits"]["cell_cpu_seconds"])
        function = namespace.get(part["function"])
        if not callable(function):
            status["missing"] = f"{part['function']} is not defined (or not a function) after running your cells"
        else:
            for case, inputs in enumerate(cases):
                try:
                    tensors = [torch.from_numpy(numpy.array(value, dtype=numpy.float64)) for value in inputs]
                    guard.mark()
                    with torch.no_grad():
                        result = function(*tensors)
                    used = guard.autograd_used()
                    if used:
                        raise refusal.ForbiddenCall(used)
                    for k, array in enumerate(_as_arrays(result, part["outputs"], numpy, torch)):
                        arrays[f"c{case}_o{k}"] = array
                    status["cases"].append(None)
                except BaseException as error:  # noqa: BLE001 - the student's function may raise anything
                    status["cases"].append(f"{type(error).__name__}: {str(error)[:300]}")
        try:
            status["guards"] = guard.problems()
        except BaseException as error:  # noqa: BLE001 - a guard broken so that checking it fails
            status["guards"] = [f"the grader could not check its guards: {type(error).__name__}: {str(error)[:200]}"]
    except BaseException as error:  # noqa: BLE001
        status["crash"] = f"{type(error).__name__}: {str(error)[:300]}"
    buffer = io.BytesIO()
    arrays["__status__"] = numpy.frombuffer(json.dumps(status).encode(), dtype=numpy.uint8)
    numpy.savez(buffer, **arrays)
    data = buffer.getvalue()
    while data:
        data = data[os.write(result_fd, data):]
    os._exit(0)


class _NoIPython:
    """What ``get_ipython()`` returns in the sandbox: magics and shell commands do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    run_cell_magic = system = getoutput = run_line_magic


# -- the parent: one child per part, with limits ------------------------------------------------

def _kill_the_rest(child: int, own_namespace: bool) -> None:
    """Kill what the part left running: its process group, and in the sandbox's own PID namespace
    every process but this one (``kill(-1)`` there reaches nothing outside)."""
    try:
        os.killpg(child, signal.SIGKILL)
    except OSError:
        pass
    if own_namespace:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass


def _wait(pid: int, read_fd: int, limits: dict, own_namespace: bool) -> tuple[dict, bytes]:
    """Wait for one child; return how it ended and the bytes it sent."""
    start = time.monotonic()
    deadline = start + limits["part_wall_seconds"]
    chunks, size, ended = [], 0, None
    os.set_blocking(read_fd, False)
    while ended is None:
        ready, _, _ = select.select([read_fd], [], [], 0.02)
        if ready:
            try:
                chunk = os.read(read_fd, 1 << 20)
            except BlockingIOError:
                chunk = None
            if chunk and size < MAX_RESULT_BYTES:
                chunks.append(chunk)
                size += len(chunk)
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            cpu = usage.ru_utime + usage.ru_stime
            ended = {"wall_seconds": round(time.monotonic() - start, 3), "cpu_seconds": round(cpu, 3)}
            if os.WIFSIGNALED(status):
                ended["signal"] = signal.Signals(os.WTERMSIG(status)).name
                if ended["signal"] == "SIGXCPU" or (ended["signal"] == "SIGKILL" and cpu >= limits["part_cpu_seconds"]):
                    ended["limit"] = "cpu"
            else:
                ended["exit_code"] = os.WEXITSTATUS(status)
        elif time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, _, usage = os.wait4(pid, 0)
            ended = {"limit": "wall", "wall_seconds": round(limits["part_wall_seconds"], 3),
                     "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3)}
    _kill_the_rest(pid, own_namespace)
    stop = time.monotonic() + 2
    while time.monotonic() < stop and size < MAX_RESULT_BYTES:  # what is still in the pipe
        ready, _, _ = select.select([read_fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(read_fd, 1 << 20)
        except BlockingIOError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    os.close(read_fd)
    return ended, b"".join(chunks)[:MAX_RESULT_BYTES]


def run_job(workdir: str) -> list[dict]:
    """Run every part of the job in ``workdir``, one forked child each; ``[{"ended", "result"}]``."""
    import numpy

    with open(os.path.join(workdir, "job.json")) as handle:
        job = json.load(handle)
    own_namespace = bool(job.get("own_pid_namespace")) and os.getpid() <= 3
    answers = []
    for index, part in enumerate(job["parts"]):
        with numpy.load(os.path.join(workdir, f"inputs_{index}.npz"), allow_pickle=False) as stored:
            cases = [[stored[f"c{case}_{name}"] for name in part["arguments"]] for case in range(part["cases"])]
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                # The child keeps only its end of the pipe: nothing of this process's.
                os.close(read_fd)
                os.closerange(3, write_fd)
                os.closerange(write_fd + 1, os.sysconf("SC_OPEN_MAX"))
                _run_part(job, index, cases, workdir, write_fd)
            finally:
                os._exit(70)
        os.close(write_fd)
        ended, data = _wait(pid, read_fd, job["limits"], own_namespace)
        answers.append({"ended": ended, "result": base64.b64encode(data).decode()})
    return answers


def main(argv: list[str]) -> int:
    """``isolation.py WORKDIR``: run the job there; one JSON line on stdout once every part is done."""
    import ctypes

    import numpy  # noqa: F401 - loaded here once, so that every child starts with it
    import torch

    # Not dumpable: the children (the student's code) cannot read this process's memory or its
    # file descriptors through /proc, so the answer on stdout is this process's alone.
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
    torch.set_num_threads(1)
    answers = run_job(argv[1])
    sys.stdout.write(json.dumps({"parts": answers}) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
