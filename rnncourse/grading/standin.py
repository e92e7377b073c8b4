"""The ``rnncourse.grading`` that nbgrader's kernel sees in the sandbox: checks that replay answers.

Why a stand-in: nbgrader runs the notebook's test cells (``checks.elman_step(elman_step)``) in the
student's kernel, so that kernel needs *some* ``rnncourse.grading.checks``. The real one computes
its answers with the reference implementation, which must not be visible to student code. And the
kernel's verdicts count for nothing: the points come from the verification outside
(:mod:`rnncourse.grading.verify`), which runs the student's functions on inputs drawn from a secret
seed in a separate sandbox. So this kernel is given only what a student could know or what cannot
help them:

- the visible cases (the fixed seed every student sees in their own notebook) and their answers;
- for the hidden tests, cases from a *throw-away* seed, never the one the verification uses, with
  their answers: memorising them earns nothing;
- the comparison and refusal code (``comparison.py``, ``refusal.py``, ``forbidden.py``), which hold
  no answer.

Not there: the reference implementation (``rnncourse`` itself), the solutions, the hidden-test seed.
A student who patches these checks fools only nbgrader's run, whose score the verification
overrides. This file becomes ``rnncourse/grading/core.py`` of the stand-in package
(:func:`rnncourse.grading.kernel.standin_library`); the data lies in ``$RNNCOURSE_STANDIN_DATA``.
"""
from __future__ import annotations

import json
import os

import numpy as np

from comparison import run

VISIBLE, HIDDEN = "visible", "hidden"


class Check:
    """One graded part as the kernel sees it: its cases and their answers, replayed."""

    def __init__(self, spec: dict, stored) -> None:
        self.name, self.signature = spec["name"], spec["signature"]
        self.outputs, self.forbidden = tuple(spec["outputs"]), tuple(spec["forbidden"])
        self.rtol, self.atol = spec["rtol"], spec["atol"]
        self._cases = {}
        for kind in (VISIBLE, HIDDEN):
            self._cases[kind] = [
                ({name: np.array(stored[f"{self.name}/{kind}/{k}/in/{name}"]) for name in spec["arguments"]},
                 [np.array(stored[f"{self.name}/{kind}/{k}/out/{o}"]) for o in range(len(self.outputs))])
                for k in range(spec["cases"][kind])
            ]

    def __call__(self, function, hidden: bool = False) -> None:
        run(self, function, self._cases[HIDDEN if hidden else VISIBLE])


def load() -> dict:
    """Every check, by name, from ``$RNNCOURSE_STANDIN_DATA/checks.json`` and ``cases.npz``."""
    folder = os.environ.get("RNNCOURSE_STANDIN_DATA", "")
    with open(os.path.join(folder, "checks.json")) as handle:
        specs = json.load(handle)
    with np.load(os.path.join(folder, "cases.npz"), allow_pickle=False) as stored:
        return {spec["name"]: Check(spec, stored) for spec in specs}
