"""nbgrader's kernel in the sandbox: the stand-in checks it sees, and the kernel manager that starts it.

:func:`standin_library` writes, into a folder of its own, the package ``rnncourse.grading`` that the
test cells import there (see :mod:`rnncourse.grading.standin` for what it holds and why), and the
data it replays.

:class:`SandboxedKernelManager` is the kernel manager nbgrader's ``Execute`` uses
(:mod:`rnncourse.grading.nbexec`): every kernel starts inside bubblewrap
(:func:`rnncourse.grading.bubblewrap.command`), with the notebook's folder in the throw-away course
as its only writable place, the stand-in library and the connection folder (``ipc`` sockets: a
sandbox without network has no localhost) mounted, and interrupts sent as messages.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from jupyter_client.manager import AsyncKernelManager
from traitlets import Unicode

from . import bubblewrap

HERE = Path(__file__).resolve().parent

#: The standalone modules the sandboxes hold: refusal and comparison, no answer.
SHARED_MODULES = ("forbidden.py", "refusal.py", "comparison.py")


def standin_library(folder: Path, checks, seed: int | None = None) -> Path:
    """Write the stand-in ``rnncourse`` package and its data (for ``checks``) into ``folder``; return it.

    The hidden cases come from ``seed`` (default: a fresh one), never the verification's.
    """
    from .core import VISIBLE_SEED

    folder = Path(folder)
    package = folder / "rnncourse" / "grading"
    package.mkdir(parents=True, exist_ok=True)
    (folder / "rnncourse" / "__init__.py").write_text('"""A stand-in: the reference implementation is not here."""\n')
    (package / "__init__.py").write_text("from . import checks  # noqa: F401\n")
    shutil.copy(HERE / "standin.py", package / "core.py")
    (package / "checks.py").write_text("from .core import load\n\nglobals().update(load())\n")
    for name in SHARED_MODULES:
        shutil.copy(HERE / name, folder / name)
    seed = secrets.randbits(63) if seed is None else seed
    specs, arrays = [], {}
    for check in checks:
        counts = {}
        for kind, cases in (("visible", check.cases(VISIBLE_SEED, hidden=False)), ("hidden", check.cases(seed, hidden=True))):
            counts[kind] = len(cases)
            for k, case in enumerate(cases):
                for name, value in case.items():
                    arrays[f"{check.name}/{kind}/{k}/in/{name}"] = value
                for o, value in enumerate(check.expected(case)):
                    arrays[f"{check.name}/{kind}/{k}/out/{o}"] = value
        arguments = list(check.cases(VISIBLE_SEED, hidden=False)[0])
        specs.append({"name": check.name, "signature": check.signature, "outputs": list(check.outputs),
                      "forbidden": check.forbidden_spec(), "rtol": check.rtol, "atol": check.atol,
                      "arguments": arguments, "cases": counts})
    data = folder / "data"
    data.mkdir(exist_ok=True)
    (data / "checks.json").write_text(json.dumps(specs))
    np.savez(data / "cases.npz", **arrays)
    return folder


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run inside bubblewrap (or, with no library given, as usual)."""

    standin = Unicode("", help="the stand-in library folder; empty: start kernels without a sandbox").tag(config=True)
    hide = Unicode("", help="os.pathsep-separated folders never visible in the sandbox").tag(config=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.standin:
            # The connection file and the ipc sockets in a folder of this kernel's own, the only
            # part of the grader's runtime folder its sandbox sees (a default connection file would
            # be a temporary file in /tmp, and relative ipc paths would differ inside and out).
            runtime = Path(os.environ.get("JUPYTER_RUNTIME_DIR") or tempfile.gettempdir()).resolve()
            folder = runtime / f"kernel-{secrets.token_hex(8)}"
            folder.mkdir(mode=0o700, parents=True)
            self.connection_file = str(folder / "connection.json")
            self.ip = str(folder / "ipc")

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.standin:
            self.kernel_spec.interrupt_mode = "message"  # a signal to bwrap would not reach the kernel
            cwd = kw.get("cwd") or os.getcwd()
            runtime = str(Path(self.connection_file).resolve().parent)
            environment = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
                           "HOME": "/tmp", "PYTHONPATH": self.standin, "MPLBACKEND": "Agg",
                           "RNNCOURSE_STANDIN_DATA": str(Path(self.standin) / "data"), "OMP_NUM_THREADS": "1",
                           "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
            kernel_cmd = bubblewrap.command(list(kernel_cmd), writable=[cwd, runtime], readable=[self.standin],
                                            hidden=[p for p in self.hide.split(os.pathsep) if p], env=environment,
                                            chdir=cwd)
            kw = dict(kw, env={"PATH": os.environ.get("PATH", "")})
        return await super()._async_launch_kernel(kernel_cmd, **kw)
