"""nbgrader's autograde, made robust to what a submission can do to it.

Plain nbgrader loses every part of a notebook, solved or not, when one part

- kills its kernel (a segfault, ``os._exit``, the memory cap): grading stops at that cell;
- prints without end: the outputs pile up in nbgrader's memory until it fails;
- has its cell metadata edited or duplicated: nbgrader refuses the notebook (a duplicated cell
  is mistaken for an old metadata format; a solution cell marked as graded is not in the gradebook).

Two preprocessors take the place of nbgrader's own:

- :class:`ResilientExecute` (for ``Execute``) records a kernel's death in its cell as an error (so
  that cell's test fails), starts a new kernel, runs the earlier non-test cells again to restore the
  student's definitions and goes on; a cell that ran past the time limit is run once more first (a
  busy machine must not cost a student a part); it also keeps at most ``max_output_bytes`` of
  output per cell;
- :class:`TrustedMetadata` (for ``DeduplicateIds``) gives every cell the nbgrader metadata the
  instructor's notebook gave it, by ``grade_id`` as the gradebook knows them, and strips it from
  unknown ids and from later duplicates.

``python -m rnncourse.grading.nbexec MEMORY_BYTES STANDIN HIDE nbgrader-arguments…`` runs nbgrader with them,
with its private memory, and its kernels', capped. With a stand-in library folder ``STANDIN``
(:func:`rnncourse.grading.kernel.standin_library`), every kernel runs inside bubblewrap
(:class:`rnncourse.grading.kernel.SandboxedKernelManager`, ``ipc`` transport) and sees that
library as ``rnncourse``; ``HIDE`` lists folders (``os.pathsep``-separated) hidden from it; an
empty ``STANDIN`` runs kernels unsandboxed (``--no-sandbox``).
"""
from __future__ import annotations

import copy
import resource
import sys

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import DeduplicateIds, Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Bool, Integer


def _error(name: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


class ResilientExecute(Execute):
    """nbgrader's ``Execute`` that restarts a dead kernel and goes on with the next cell."""

    max_output_bytes = Integer(1_000_000, help="output kept per cell; the rest is dropped").tag(config=True)
    # A cell that floods its output can still be sending it after the kernel replied; waiting for
    # the rest must not fail the whole notebook (nbgrader sets this to True).
    raise_on_iopub_timeout = Bool(False).tag(config=True)

    _kernel_lost = False

    def output(self, outs, msg, display_id, cell_index):
        kept = sum(len(str(out.get("text", ""))) + len(str(out.get("data", ""))) for out in outs)
        if kept > self.max_output_bytes:
            if not outs or outs[-1].get("name") != "truncated":
                outs.append(NotebookNode(output_type="stream", name="truncated",
                                         text=f"\n[output truncated by the grader after {self.max_output_bytes} bytes]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self._kernel_lost:
            if cell.cell_type == "code":
                cell.outputs = [_error("DeadKernelError", "not run: the kernel died and could not be restored")]
            return cell
        for attempt in (1, 2):
            try:
                return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
            except (DeadKernelError, CellTimeoutError) as error:
                timed_out = isinstance(error, CellTimeoutError)
                what = f"stopped answering within {self.timeout} s" if timed_out else "died"
                self.log.warning("The kernel %s in cell %d; restarting it and restoring the earlier cells", what,
                                 cell_index)
                await self._restore(cell_index)
                if timed_out and attempt == 1 and not self._kernel_lost:
                    # A busy machine, not the student's code, may have made it slow: run it once more.
                    cell.outputs = []
                    continue
                again = " (twice: it was run once more in case the machine was only busy)" if timed_out else ""
                cell.outputs.append(_error(type(error).__name__, f"the kernel {what} while running this cell{again}"))
                return cell
        return cell

    async def _restore(self, upto: int) -> None:
        """A fresh kernel that has run the notebook's code cells before ``upto`` (test cells left out)."""
        await ensure_async(self.km.restart_kernel(now=True))
        await ensure_async(self.kc.stop_channels())
        self.kc = self.km.client()
        await ensure_async(self.kc.start_channels())
        await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        self.kc.allow_stdin = False
        for index, earlier in enumerate(self.nb.cells[:upto]):
            if earlier.cell_type != "code" or is_grade(earlier):
                continue
            try:
                await super().async_execute_cell(copy.deepcopy(earlier), index, store_history=False)
            except (DeadKernelError, CellTimeoutError):
                self._kernel_lost = True
                return

    # nbconvert calls the synchronous wrapper, which must wrap this class's coroutine.
    execute_cell = run_sync(async_execute_cell)


class TrustedMetadata(NbGraderPreprocessor):
    """Every cell's nbgrader metadata as the instructor's notebook set it, whatever the student did to it."""

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        notebook = resources["nbgrader"]["notebook"]
        seen = set()
        with Gradebook(resources["nbgrader"]["db_url"]) as gradebook:
            for cell in nb.cells:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if grade_id is None:
                    cell.get("metadata", {}).pop("nbgrader", None)
                    continue
                trusted = None if grade_id in seen else self._trusted(gradebook, grade_id, notebook, assignment)
                if trusted is None:
                    self.log.warning("Cell %r is unknown or duplicated; it runs as an ordinary cell", grade_id)
                    del cell.metadata["nbgrader"]
                else:
                    seen.add(grade_id)
                    cell.metadata["nbgrader"] = trusted
        return nb, resources

    @staticmethod
    def _trusted(gradebook, grade_id: str, notebook: str, assignment: str) -> dict | None:
        try:
            source = gradebook.find_source_cell(grade_id, notebook, assignment)
        except MissingEntry:
            return None
        metadata = {"grade_id": grade_id, "locked": bool(source.locked), "schema_version": 3,
                    "grade": False, "solution": False}
        try:
            graded = gradebook.find_graded_cell(grade_id, notebook, assignment)
            metadata.update(grade=True, points=graded.max_score)
        except MissingEntry:
            pass
        try:
            gradebook.find_solution_cell(grade_id, notebook, assignment)
            metadata["solution"] = True
        except MissingEntry:
            pass
        if source.cell_type == "markdown" and metadata["grade"] and not metadata["solution"]:
            metadata["task"] = True
        return metadata


def main(argv: list[str]) -> None:
    from nbgrader.apps import NbGraderApp
    from nbgrader.converters.autograde import Autograde
    from traitlets.config import Config

    from .kernel import SandboxedKernelManager

    limit, standin, hide = int(argv[0]), argv[1], argv[2]
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    config = Config()
    config.ResilientExecute.kernel_manager_class = SandboxedKernelManager
    config.SandboxedKernelManager.standin = standin
    config.SandboxedKernelManager.hide = hide
    if standin:
        config.KernelManager.transport = "ipc"
    defaults = Autograde.class_traits()
    config.Autograde.sanitize_preprocessors = [
        TrustedMetadata if step is DeduplicateIds else step for step in defaults["sanitize_preprocessors"].default()
    ]
    config.Autograde.autograde_preprocessors = [
        ResilientExecute if step is Execute else step for step in defaults["autograde_preprocessors"].default()
    ]
    NbGraderApp.launch_instance(argv=argv[3:], config=config)


if __name__ == "__main__":
    main(sys.argv[1:])
