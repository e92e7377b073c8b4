"""nbgrader's autograde, made to survive a submission that kills its kernel.

Plain nbgrader stops grading a notebook at the first cell whose kernel dies (a segfault, a call to
``os._exit``, the memory cap): every part, solved or not, then scores nothing. :class:`ResilientExecute`
records the death in that cell as an error (so its test fails), starts a new kernel, runs the
earlier non-test cells again to restore the student's definitions, and goes on with the next cell.

``python -m rnncourse.grading.nbexec MEMORY_BYTES nbgrader-arguments…`` runs nbgrader with that
preprocessor in place of ``Execute`` and with its private memory, and its kernels', capped.
"""
from __future__ import annotations

import copy
import resource
import sys

from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade


def _error(name: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


class ResilientExecute(Execute):
    """nbgrader's ``Execute`` that restarts a dead kernel and goes on with the next cell."""

    _kernel_lost = False

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self._kernel_lost:
            if cell.cell_type == "code":
                cell.outputs = [_error("DeadKernelError", "not run: the kernel died and could not be restored")]
            return cell
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except DeadKernelError:
            cell.outputs.append(_error("DeadKernelError", "the kernel died while running this cell"))
            self.log.warning("The kernel died in cell %d; restarting it and restoring the earlier cells", cell_index)
            await self._restore(cell_index)
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
            except DeadKernelError:
                self._kernel_lost = True
                return

    # nbconvert calls the synchronous wrapper, which must wrap this class's coroutine.
    execute_cell = run_sync(async_execute_cell)


def main(argv: list[str]) -> None:
    from nbgrader.apps import NbGraderApp
    from nbgrader.converters.autograde import Autograde
    from traitlets.config import Config

    limit = int(argv[0])
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    config = Config()
    config.Autograde.autograde_preprocessors = [
        ResilientExecute if step is Execute else step for step in Autograde.class_traits()["autograde_preprocessors"].default()
    ]
    NbGraderApp.launch_instance(argv=argv[1:], config=config)


if __name__ == "__main__":
    main(sys.argv[1:])
