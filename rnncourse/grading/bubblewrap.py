"""The operating-system sandbox every piece of student code runs in: bubblewrap (Debian's ``bubblewrap``).

:func:`command` wraps a command line so that it runs with

- its own user, mount, PID, network, IPC and UTS namespaces (``--unshare-all``, ``--unshare-user``,
  no nested user namespaces): **no network**, and a PID namespace of its own, so that when the
  sandbox's first process ends, the kernel kills every process left in it, detached sessions
  included; ``--die-with-parent`` ends it with the grading thread that started it;
- a **read-only** view of the system (``/usr``, ``/etc``, ...) and of the Python installation and its
  environment, and nothing else of the machine: the course directory (``solutions/``, the gradebook,
  the real submissions, ``reports/``), the ``rnncourse`` package (the reference implementation) and
  the instructor's notebooks are not mounted; where one lies inside a mounted folder (an environment
  inside the course, a package installed into site-packages), an empty ``tmpfs`` hides it;
- a private ``/tmp``, a minimal ``/dev`` and ``/proc``, a cleared environment;
- writable: only the folders given (the submission's scratch copy), readable extras as given.

:func:`unavailable` says why bubblewrap cannot start here (not installed, no user namespaces), or
``None``; ``rnncourse grade`` then refuses to grade unless told ``--no-sandbox``.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

#: System folders mounted read-only (those that exist; a symbolic link stays a link).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


def python_roots() -> list[str]:
    """The folders the interpreter and its installed packages live in, resolved."""
    paths = sysconfig.get_paths()
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(sys.executable).resolve().parents[1]),
             *(paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))}
    resolved = sorted({str(Path(root).resolve()) for root in roots if Path(root).exists()})
    # Only the outermost of nested roots.
    return [root for root in resolved if not any(root != other and root.startswith(other + os.sep) for other in resolved)]


def _mounted(path: str, roots) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def command(argv: list[str], *, writable=(), readable=(), hidden=(), env: dict | None = None,
            chdir: str | None = None) -> list[str]:
    """``argv`` wrapped in bubblewrap: see the module's docstring. Paths are used as they are resolved."""
    args = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--clearenv"]
    # The private /tmp first: a bind mount made after it stays visible (an environment under /tmp,
    # a clone in /tmp/ci), one made before it would be hidden by it.
    args += ["--tmpfs", "/tmp"]
    roots = []
    for path in SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
            roots.append(path)
    for path in python_roots():
        if not _mounted(path, roots):
            args += ["--ro-bind", path, path]
            roots.append(path)
    args += ["--proc", "/proc", "--dev", "/dev"]
    for path in (str(Path(p).resolve()) for p in hidden):
        if _mounted(path, roots) and os.path.exists(path):
            args += ["--tmpfs", path] if os.path.isdir(path) else ["--ro-bind", "/dev/null", path]
    for path in (str(Path(p).resolve()) for p in readable):
        args += ["--ro-bind", path, path]
    for path in (str(Path(p).resolve()) for p in writable):
        args += ["--bind", path, path]
    for key, value in (env or {}).items():
        args += ["--setenv", key, str(value)]
    if chdir:
        args += ["--chdir", str(Path(chdir).resolve())]
    return args + ["--", *argv]


@functools.lru_cache(maxsize=None)
def unavailable() -> str | None:
    """Why bubblewrap cannot run a sandbox here, or ``None`` when it can."""
    if sys.platform != "linux":
        return f"bubblewrap needs Linux; this is {sys.platform}"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        probe = subprocess.run(command([sys.executable, "-c", "print('ok')"]), capture_output=True, text=True,
                               timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start: {error}"
    if probe.returncode != 0 or probe.stdout.strip() != "ok":
        return f"bubblewrap could not start a sandbox (user namespaces disabled?): {probe.stderr.strip()[:300]}"
    return None


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot start here and grading without it was not asked for."""


def require(sandbox: bool) -> None:
    """Raise :class:`SandboxUnavailable` when ``sandbox`` is asked for and bubblewrap cannot start."""
    reason = unavailable() if sandbox else None
    if reason:
        raise SandboxUnavailable(
            f"STUDENT CODE CANNOT BE SANDBOXED ON THIS MACHINE: {reason}. Without the sandbox, a submission's code "
            f"runs with your rights and can read the solutions and change grades. Install bubblewrap, or grade "
            f"without it at your own risk with --no-sandbox (grade(..., sandbox=False))."
        )
