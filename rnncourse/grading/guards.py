"""The Python-level guards of the verification sandbox: the second layer, and clear messages.

The first layer is the operating system's (:mod:`rnncourse.grading.bubblewrap`: nothing of the
course or of ``rnncourse`` is mounted, no network, a private ``/tmp``, its own PID namespace) and
the dispatcher's (:mod:`rnncourse.grading.refusal`). Inside, before any student code runs, a part's
process also gets:

- resource limits: private memory, **CPU time** (``RLIMIT_CPU``; a part is charged for the CPU it
  uses, not for the time it waits while the machine is busy), file size;
- a seccomp filter that refuses ``execve``: no fresh interpreter (without the refusals) can start,
  whichever C function tries it;
- an import blocker (``rnncourse``, ``nbgrader``) and an audit hook refusing reads outside the
  Python installation and the work directory, writes outside the work directory, subprocesses,
  signals, sockets, ``ctypes``, SQLite, ``mmap`` and garbage-collector introspection.

Standard library only: copied into the sandbox beside ``isolation.py``.
"""
from __future__ import annotations

import ctypes
import os
import struct
import sys

BLOCKED_PACKAGES = ("rnncourse", "nbgrader")


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
    "sys.addaudithook", "_thread.start_new_thread", "sys.setprofile", "sys.settrace", "os.chdir", "shutil.rmtree", "pty.spawn",
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


def restrict(job: dict, workdir: str) -> None:
    limits = job["limits"]
    import resource

    def cap(kind, value):
        soft, hard = resource.getrlimit(kind)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(kind, (value, value if hard == resource.RLIM_INFINITY else hard))

    with open("/proc/self/statm") as statm:
        data_pages = int(statm.read().split()[5])  # private data + stack, what RLIMIT_DATA counts
    cap(resource.RLIMIT_DATA, data_pages * os.sysconf("SC_PAGE_SIZE") + limits["memory_bytes"])
    # CPU time: SIGXCPU at the limit (reported as such), SIGKILL two seconds later.
    seconds = max(1, int(round(limits["part_cpu_seconds"])))
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 2))
    cap(resource.RLIMIT_FSIZE, limits["file_bytes"])
    sys.meta_path.insert(0, _BlockedImports())
    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED_PACKAGES:
            del sys.modules[name]
    readable = tuple(os.path.realpath(p) for p in job["readable_roots"]) + ("/proc/self", "/dev/null",
                                                                             "/dev/urandom")
    blocked = tuple(os.path.realpath(p) for p in job["blocked_roots"])
    sys.addaudithook(_audit_hook(readable, os.path.realpath(workdir), blocked))


#: ``(AUDIT_ARCH_*, execve, execveat)`` per machine.
_EXEC_SYSCALLS = {"x86_64": (0xC000003E, 59, 322), "aarch64": (0xC00000B7, 221, 281)}


def block_exec() -> bool:
    """Refuse ``execve``/``execveat`` (with EPERM) for this process and its children, for good.

    Returns whether the filter is in place (``False`` on a machine this does not know).
    """
    known = _EXEC_SYSCALLS.get(os.uname().machine)
    if known is None:
        return False
    arch, execve, execveat = known
    load_word, jump_equal, jump_greater_equal, ret = 0x20, 0x15, 0x35, 0x06
    allow, refuse = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    program = [
        (load_word, 0, 0, 4),             # A = architecture
        (jump_equal, 1, 0, arch),         # ours: go on; else refuse
        (ret, 0, 0, refuse),
        (load_word, 0, 0, 0),             # A = system call number
        (jump_greater_equal, 3, 0, 0x40000000),  # the x32 ABI: refuse
        (jump_equal, 2, 0, execve),
        (jump_equal, 1, 0, execveat),
        (ret, 0, 0, allow),
        (ret, 0, 0, refuse),
    ]
    filters = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(filters)
    fprog = struct.pack("HxxxxxxP", len(program), ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        return False
    prog = ctypes.create_string_buffer(fprog)
    return libc.prctl(22, 2, ctypes.addressof(prog), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
