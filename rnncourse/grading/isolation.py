"""Running a student's code where it can neither see the answers nor change the verdict.

This file is run as a *script* by :mod:`rnncourse.grading.verify` (``python -I isolation.py WORKDIR``),
never imported by it, so the sandbox process holds no module of ``rnncourse``: the reference
implementation is not in its memory and cannot be imported or read from disk there. It imports only
the standard library, numpy and torch.

The job (``WORKDIR/job.json`` and ``WORKDIR/inputs_<k>.npz``, written by the grader) lists the
student's code cells and, per graded part, the function to call, its inputs and the names it may
not use. For each part, this process forks a child that:

1. applies resource limits (private memory, CPU time, file size) and sends stdout/stderr to
   ``/dev/null``;
2. installs an import blocker (``rnncourse``, ``nbgrader``) and an audit hook that refuses reading
   files outside the Python installation and the work directory, subprocesses, signals, sockets,
   ``ctypes``, SQLite, ``mmap`` and garbage-collector introspection; refuses, for the rest of the
   child's life, the library calls the part forbids and those that do file I/O in C;
3. executes the student's cells (each under an alarm), calls the part's function on every case
   with the forbidden names disabled, and writes the outputs as plain arrays (``.npz``, never
   pickle) to a file opened before any student code ran.

The parent waits for each child with a deadline and kills it when it is exceeded, then writes
``WORKDIR/summary.json``: per part, how the child ended. The grading process, which never runs
student code, loads the arrays and compares them with the reference.

:func:`forbid` is also what the in-notebook checks use (:mod:`rnncourse.grading.core`), so the
student sees the same refusal in the notebook that the grader applies here.
"""
from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import json
import os
import signal
import sys
import time

BLOCKED_PACKAGES = ("rnncourse", "nbgrader")

#: Library calls that read or write files in C, where the audit hook does not see them.
FILE_SHORTCUTS = ("torch.save", "torch.load", "torch.from_file", "torch.UntypedStorage.from_file",
                  "numpy.load", "numpy.save", "numpy.fromfile", "numpy.memmap", "numpy.loadtxt")


class ForbiddenCall(Exception):
    """Raised when a solution calls a function that its part does not allow."""


class CellTimeout(BaseException):
    """Raised by the alarm when one cell runs past its time limit."""


def _refused_message(dotted: str, part: str) -> str:
    return (f"{part} may not use {dotted}: this part asks you to compute it yourself with basic "
            f"tensor operations (matmul, tanh, sum, ...).")


def _refusal(dotted: str, part: str):
    def refuse(*args, **kwargs):
        raise ForbiddenCall(_refused_message(dotted, part))

    return refuse


def _function_refuser(names, part: str):
    """A torch function mode that refuses every torch function whose name ends one of ``names``.

    Replacing attributes misses a function reached another way (``torch._C._VariableFunctions``,
    ``torch.ops.aten``, a reference taken earlier); every torch function call passes through the
    mode, whatever the path to it.
    """
    from torch.overrides import TorchFunctionMode

    refused = {dotted.rpartition(".")[2]: dotted for dotted in names}

    class RefuseFunctions(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if name in refused:
                raise ForbiddenCall(_refused_message(refused[name], part))
            return func(*args, **(kwargs or {}))

    return RefuseFunctions()


def _replace(names, part: str) -> list:
    """Replace each dotted name with a refusal; return what is needed to put the originals back.

    A name whose module cannot be imported here is skipped: in the sandbox ``rnncourse`` cannot be
    imported at all, which is a stronger refusal than this one.
    """
    saved = []
    for dotted in names:
        try:
            owner, attribute = _owner(dotted)
        except (ImportError, AttributeError):
            continue
        if hasattr(owner, attribute):
            saved.append((owner, attribute, getattr(owner, attribute)))
            setattr(owner, attribute, _refusal(dotted, part))
    return saved


def _owner(dotted: str):
    """``"torch.nn.RNNCell"`` -> ``(torch.nn, "RNNCell")``; ``"torch.Tensor.backward"`` -> ``(Tensor, "backward")``."""
    path, _, attribute = dotted.rpartition(".")
    names = path.split(".")
    owner = importlib.import_module(names[0])
    for name in names[1:]:
        owner = getattr(owner, name)
    return owner, attribute


@contextlib.contextmanager
def forbid(names, part: str):
    """Within the block, calling any of the dotted ``names`` raises :class:`ForbiddenCall`."""
    saved = _replace(names, part)
    try:
        with _function_refuser(names, part):
            yield
    finally:
        for owner, attribute, original in reversed(saved):
            setattr(owner, attribute, original)


def forbid_for_good(names, part: str) -> None:
    """Refuse ``names`` for the rest of this process, before any student code can take a reference."""
    _replace(names, part)
    _function_refuser(names, part).__enter__()


# -- the restrictions of a child ----------------------------------------------------------------

class _BlockedImports:
    """A meta-path finder that refuses the packages holding the reference and the grader."""

    blocked = tuple(BLOCKED_PACKAGES)

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ImportError(f"{name} is not available while your solution is graded")
        return None


_REFUSED_EVENTS = {
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "os.putenv", "os.unsetenv", "socket.connect", "socket.bind",
    "socket.getaddrinfo", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.string_at",
    "ctypes.wstring_at", "ctypes.addressof", "ctypes.call_function", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "sys.addaudithook", "sys.setprofile", "sys.settrace", "os.chdir", "shutil.rmtree", "pty.spawn",
    "sqlite3.connect", "sqlite3.connect/handle", "mmap.__new__",
    "webbrowser.open", "urllib.Request", "http.client.connect", "sys.remote_exec",
}


def _audit_hook(readable_roots: tuple[str, ...], writable_root: str, blocked_roots: tuple[str, ...]):
    # Everything the hook consults is captured here, immutable, so that student code that patches
    # this module's globals, builtins or os.path cannot loosen it.
    refused_events = frozenset(_REFUSED_EVENTS)
    blocked_packages = tuple(BLOCKED_PACKAGES)
    readable = tuple(root.rstrip(os.sep) for root in readable_roots)
    blocked = tuple(root.rstrip(os.sep) for root in blocked_roots)
    writable = (writable_root.rstrip(os.sep),)
    realpath, fsdecode, separator = os.path.realpath, os.fsdecode, os.sep
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC
    path_events = frozenset({"open", "os.listdir", "os.scandir", "os.remove", "os.rename", "os.mkdir", "os.rmdir",
                             "os.truncate", "os.symlink", "os.link", "os.chmod", "os.chown", "os.utime",
                             "shutil.copyfile", "shutil.copytree", "shutil.move", "shutil.make_archive"})
    two_path_events = frozenset({"os.rename", "os.link", "os.symlink", "shutil.copyfile", "shutil.copytree",
                                 "shutil.move"})
    reading_events = frozenset({"open", "os.listdir", "os.scandir"})

    def inside(path: str, roots) -> bool:
        for root in roots:
            if path == root or path.startswith(root + separator):
                return True
        return False

    def check_path(target, writing: bool) -> None:
        if target is None or type(target) is int:
            return
        path = realpath(fsdecode(target))
        if inside(path, writable):
            return
        if writing or inside(path, blocked) or not inside(path, readable):
            raise PermissionError(f"access to {path} is not allowed while your solution is graded")

    def hook(event: str, args) -> None:
        if event in refused_events:
            raise PermissionError(f"{event} is not allowed while your solution is graded")
        if event == "import" and str(args[0]).split(".")[0] in blocked_packages:
            raise ImportError(f"{args[0]} is not available while your solution is graded")
        if event not in path_events:
            return
        writing = event not in reading_events
        if event == "open":
            mode = args[1] if len(args) > 1 and type(args[1]) is str else "r"
            flags = args[2] if len(args) > 2 and type(args[2]) is int else 0
            writing = "w" in mode or "a" in mode or "x" in mode or "+" in mode or bool(flags & write_flags)
        check_path(args[0], writing)
        if event in two_path_events and len(args) > 1:
            check_path(args[1], True)

    return hook


def _restrict(job: dict, workdir: str) -> None:
    limits = job["limits"]
    import resource

    def cap(kind, value):
        soft, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value if hard == resource.RLIM_INFINITY else hard))

    with open("/proc/self/statm") as statm:
        data_pages = int(statm.read().split()[5])  # private data + stack, what RLIMIT_DATA counts
    cap(resource.RLIMIT_DATA, data_pages * os.sysconf("SC_PAGE_SIZE") + limits["memory_bytes"])
    cap(resource.RLIMIT_CPU, int(limits["part_seconds"]) + 1)
    cap(resource.RLIMIT_FSIZE, limits["file_bytes"])
    sys.meta_path.insert(0, _BlockedImports())
    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED_PACKAGES:
            del sys.modules[name]
    readable = tuple(os.path.realpath(p) for p in job["readable_roots"]) + ("/proc/self", "/dev/null",
                                                                             "/dev/urandom")
    blocked = tuple(os.path.realpath(p) for p in job["blocked_roots"])
    sys.addaudithook(_audit_hook(readable, os.path.realpath(workdir), blocked))


# -- one part, in a forked child ----------------------------------------------------------------

def _on_alarm(signum, frame):
    raise CellTimeout("cell time limit")


def _run_cells(cells, namespace, seconds: float) -> list[str]:
    """Execute each cell; return one line per cell that failed (they do not stop the others)."""
    problems = []
    for cell in cells:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            exec(compile(cell["source"], f"<cell {cell['id']}>", "exec"), namespace)
        except CellTimeout:
            problems.append(f"cell {cell['id']} ran past its {seconds:g} s limit")
        except BaseException as error:  # noqa: BLE001 - a student's cell may raise anything, SystemExit too
            problems.append(f"cell {cell['id']} raised {type(error).__name__}: {str(error)[:300]}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
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


def _run_part(job: dict, index: int, workdir: str, result_fd: int) -> None:
    """The child: restrict, run the cells and the part, write the arrays, exit. Never returns."""
    import numpy
    import torch

    part = job["parts"][index]
    status = {"cells": [], "cases": []}
    arrays = {}
    try:
        with numpy.load(os.path.join(workdir, f"inputs_{index}.npz"), allow_pickle=False) as stored:
            cases = [[stored[f"c{case}_{name}"] for name in part["arguments"]] for case in range(part["cases"])]
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        # Printing costs time, never memory: whatever the student prints goes nowhere.
        sys.stdout = sys.stderr = open(os.devnull, "w")
        # Scratch space for libraries that want one (tempfile, matplotlib), inside the work directory.
        os.environ["TMPDIR"] = os.environ["MPLCONFIGDIR"] = workdir
        import tempfile

        tempfile.tempdir = workdir
        forbid_for_good(tuple(part["forbidden"]) + FILE_SHORTCUTS, part["function"])
        _restrict(job, workdir)
        signal.signal(signal.SIGALRM, _on_alarm)
        namespace = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": lambda: _NoIPython()}
        status["cells"] = _run_cells(job["cells"], namespace, job["limits"]["cell_seconds"])
        function = namespace.get(part["function"])
        if not callable(function):
            status["missing"] = f"{part['function']} is not defined (or not a function) after running your cells"
        else:
            for case, inputs in enumerate(cases):
                try:
                    tensors = [torch.from_numpy(numpy.array(value, dtype=numpy.float64)) for value in inputs]
                    with torch.no_grad():
                        result = function(*tensors)
                    for k, array in enumerate(_as_arrays(result, part["outputs"], numpy, torch)):
                        arrays[f"c{case}_o{k}"] = array
                    status["cases"].append(None)
                except BaseException as error:  # noqa: BLE001 - the student's function may raise anything
                    status["cases"].append(f"{type(error).__name__}: {str(error)[:300]}")
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


# -- the parent: one child per part, with a deadline --------------------------------------------

def _wait(pid: int, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    start = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            ended = {"seconds": round(time.monotonic() - start, 3)}
            if os.WIFSIGNALED(status):
                ended["signal"] = signal.Signals(os.WTERMSIG(status)).name
            else:
                ended["exit_code"] = os.WEXITSTATUS(status)
            return ended
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"timed_out": True, "seconds": round(seconds, 3)}
        time.sleep(0.005)


def run_job(workdir: str) -> None:
    """Run every part of the job in ``workdir``, one forked child each, and write ``summary.json``."""
    with open(os.path.join(workdir, "job.json")) as handle:
        job = json.load(handle)
    summary = []
    for index in range(len(job["parts"])):
        result_path = os.path.join(workdir, f"result_{index}.npz")
        result_fd = os.open(result_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        pid = os.fork()
        if pid == 0:
            try:
                # The child keeps only its result file: no pipe of the server, no other part's file.
                os.closerange(3, result_fd)
                os.closerange(result_fd + 1, os.sysconf("SC_OPEN_MAX"))
                _run_part(job, index, workdir, result_fd)
            finally:
                os._exit(70)
        os.close(result_fd)
        summary.append(_wait(pid, job["limits"]["part_seconds"]))
    with open(os.path.join(workdir, "summary.json"), "w") as handle:
        json.dump(summary, handle)


def main(argv: list[str]) -> int:
    """``isolation.py WORKDIR`` runs one job; ``isolation.py --serve`` runs the jobs named on stdin.

    The server imports numpy and torch once and answers each line (a work directory) with a line
    ``done`` once that job's ``summary.json`` is written; student code only ever runs in its forked
    children, so the server itself stays clean from one submission to the next.
    """
    import numpy  # noqa: F401 - loaded once here so that every child starts with it
    import torch

    torch.set_num_threads(1)
    if argv[1:] != ["--serve"]:
        run_job(argv[1])
        return 0
    for line in sys.stdin:
        workdir = line.strip()
        if workdir:
            run_job(workdir)
            sys.stdout.write("done\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
