"""The verification sandbox on its own, without nbgrader: what student code can and cannot do there,
and the checks' messages. (tests/test_grading.py runs the whole pipeline with nbgrader.)"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rnncourse.grading import REGISTRY, bubblewrap, checks
from rnncourse.grading.core import VISIBLE_SEED
from rnncourse.grading.refusal import ForbiddenCall, forbid
from rnncourse.grading.verify import Limits, Sandbox, checks_of_test_cell, judge

ROOT = Path(__file__).resolve().parents[1]
#: Why the operating-system sandbox cannot start here (the Python-level guards are then tested alone), or None.
NO_SANDBOX = bubblewrap.unavailable()
ELMAN = "import torch\n\ndef elman_step(x, h, W_ih, W_hh, b_ih, b_hh):\n    {body}\n"
HONEST = "return torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    (course / "solutions").mkdir()
    (course / "solutions" / "secret.txt").write_text("the hidden tests")
    with Sandbox(course, Limits(part_seconds=10, cell_seconds=5, memory_bytes=512 * 1024**2),
                 sandbox=NO_SANDBOX is None) as box:
        yield box


def verdict_for(sandbox, body: str, cell_before: str = ""):
    """The verdict on ``elman_step`` written with ``body``, in a cell after the cell ``cell_before``."""
    check = checks.elman_step
    cases = check.cases(VISIBLE_SEED, hidden=False)
    cells = [{"id": "before", "source": cell_before}, {"id": "solution", "source": ELMAN.format(body=body)}]
    (ended, result), = sandbox.run(cells, [(check, cases)])
    return judge(check, cases, ended, result, sandbox.limits)


def test_honest_code_passes(sandbox):
    assert verdict_for(sandbox, HONEST).passed


@pytest.mark.parametrize("attempt, reason", [
    ("import rnncourse", "not available"),
    ("import importlib; importlib.import_module('rnncourse.functional')", "not available"),
    ("__import__('nbgrader')", "not available"),
    ("open({secret!r}).read()", "not allowed"),
    ("open('/etc/hostname').read()", "not allowed"),
    ("open({package!r}).read()", "not allowed"),
    ("open('/tmp/escape.txt', 'w').write('x')", "not allowed"),
    ("import subprocess; subprocess.run(['true'])", "not allowed"),
    ("import os; os.system('true')", "not allowed"),
    ("import socket; socket.create_connection(('127.0.0.1', 9))", "not allowed"),
    ("import ctypes; ctypes.CDLL(None)", "not allowed"),
    ("import gc; gc.get_objects()", "not allowed"),
    ("import os, signal; os.kill(os.getppid(), signal.SIGKILL)", "not allowed"),
    ("torch.rnn_tanh_cell(x, h, W_ih, W_hh, b_ih, b_hh)", "may not use torch"),
    ("torch._C._VariableFunctions.rnn_tanh_cell(x, h, W_ih, W_hh, b_ih, b_hh)", "may not use torch"),
    ("torch.ops.aten.rnn_tanh_cell(x, h, W_ih, W_hh, b_ih, b_hh)", "may not use torch"),
    ("import os; open('mine.txt', 'w').write('x'); os.rename('mine.txt', '/tmp/escape.txt')", "not allowed"),
    ("torch.save(h, '/tmp/escape.txt')", "may not use torch.save"),
    ("import sqlite3; sqlite3.connect('/tmp/escape.txt')", "not allowed"),
    ("import sys, subprocess; sys.modules['guards']._REFUSED_EVENTS.clear(); subprocess.run(['true'])",
     "not allowed"),
    ("import builtins; builtins.any = lambda items: True; open({secret!r}).read()", "not allowed"),
])
def test_what_student_code_may_not_do(sandbox, tmp_path, attempt, reason):
    secret = str(Path(sandbox.course_dir) / "solutions" / "secret.txt")
    package = str(ROOT / "rnncourse" / "functional.py")
    verdict = verdict_for(sandbox, attempt.format(secret=secret, package=package) + "\n    " + HONEST)
    assert not verdict.passed
    assert reason in verdict.reason, verdict.reason
    assert not Path("/tmp/escape.txt").exists()


@pytest.mark.parametrize("body, reason", [
    ("while True:\n        pass", "s of CPU time (an infinite loop?) and was stopped (twice"),
    ("hog = []\n    while True:\n        hog.append(bytearray(2**26))", "MemoryError"),
    ("import os; os._exit(3)", "exit code 3"),
    ("return h", "is wrong"),
    ("return (h, h)", "torch.Tensor"),
])
def test_misbehaving_parts_fail_with_a_reason(sandbox, body, reason):
    verdict = verdict_for(sandbox, body)
    assert not verdict.passed and reason in verdict.reason, verdict.reason


@pytest.mark.parametrize("alias", ["from torch import rnn_tanh_cell as shortcut",
                                   "shortcut = torch._VF.rnn_tanh_cell"])
def test_a_shortcut_taken_before_the_check_is_still_refused(sandbox, alias):
    verdict = verdict_for(sandbox, "return shortcut(x, h, W_ih, W_hh, b_ih, b_hh)", cell_before="import torch\n" + alias)
    assert not verdict.passed and "may not use" in verdict.reason, verdict.reason


def test_a_forged_result_file_is_not_trusted(sandbox):
    forge = ("import io, os, numpy\nbuffer = io.BytesIO()\n"
             "numpy.savez(buffer, __status__=numpy.frombuffer(b'[]', dtype=numpy.uint8))\n"
             "os.write(3, buffer.getvalue()); os._exit(0)")
    verdict = verdict_for(sandbox, HONEST, cell_before=forge)
    assert not verdict.passed, verdict.reason


#: A new interpreter started through a C function that raises no audit event, as in the issue: it
#: would have no hook and could import the reference and write anywhere. ``{marker}`` is a host path.
UNAUDITED_SPAWN = """
import _posixsubprocess, os, sys
_code = "import rnncourse.functional; open({marker!r}, 'w').write('escaped')"
_r, _w = os.pipe()
_pid = _posixsubprocess.fork_exec([sys.executable, '-c', _code], [sys.executable.encode()], True, (), None, None,
                                  -1, -1, -1, -1, -1, -1, _r, _w, True, False, -1, None, None, None, -1, None, False)
os.waitpid(_pid, 0)
"""


@pytest.mark.skipif(NO_SANDBOX is not None, reason=f"no grading sandbox here: {NO_SANDBOX}")
def test_a_process_started_without_an_audit_event_gets_nothing(sandbox, tmp_path):
    """The escape of the issue: with exec refused (seccomp) and nothing of the course or of
    rnncourse mounted, the new process cannot start, let alone import the reference or write out."""
    marker = tmp_path / "escaped.txt"
    cheat = "import torch\n" + UNAUDITED_SPAWN.format(marker=str(marker))
    verdict = verdict_for(sandbox, "return torch.zeros_like(h)", cell_before=cheat)
    assert not verdict.passed
    assert not marker.exists(), "a process started by student code wrote outside the sandbox"


def test_the_sandbox_survives_a_bad_submission(sandbox):
    verdict_for(sandbox, "import os; os._exit(1)")
    assert verdict_for(sandbox, HONEST).passed


def test_a_cell_with_an_endless_loop_is_cut_and_the_next_cells_still_run(sandbox):
    verdict = verdict_for(sandbox, HONEST, cell_before="while True:\n    pass")
    assert verdict.passed, verdict.reason


def test_forbid_restores_what_it_replaced():
    original = torch.nn.RNNCell
    with pytest.raises(ForbiddenCall, match="elman_step may not use torch.nn.RNNCell"):
        with forbid(("torch.nn.RNNCell", "no_such_package.thing"), "elman_step"):
            torch.nn.RNNCell(2, 3)
    assert torch.nn.RNNCell is original


def test_test_cells_are_parsed_for_their_checks():
    source = '"""doc"""\nfrom rnncourse.grading import checks\nchecks.elman_step(elman_step)\n' \
             'checks.elman_step(elman_step, hidden=True)\nchecks.rnn_forward(rnn_forward)\nprint(checks)\n'
    assert checks_of_test_cell(source) == [REGISTRY["elman_step"], REGISTRY["rnn_forward"]]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_check_accepts_its_reference_and_names_a_wrong_output(name):
    check = REGISTRY[name]
    for case in check.cases(seed=1, hidden=True):
        expected = check.expected(case)
        assert check.compare(expected, expected, case) is None
        wrong = [array + 1.0 for array in expected]
        message = check.compare(wrong, expected, case)
        assert message and check.name in message and check.outputs[0] in message
        shaped = [np.zeros((1,) + array.shape) for array in expected]
        assert "has shape" in check.compare(shaped, expected, case)


def test_grading_refuses_to_run_without_the_sandbox_unless_told(monkeypatch, tmp_path):
    """Where bubblewrap cannot start, grading says so loudly (naming --no-sandbox) and nothing runs."""
    monkeypatch.setattr(bubblewrap, "unavailable", lambda: "bubblewrap is not installed (pretended by the test)")
    with pytest.raises(bubblewrap.SandboxUnavailable, match="CANNOT BE SANDBOXED.*pretended.*--no-sandbox"):
        bubblewrap.require(True)
    bubblewrap.require(False)  # asked for explicitly: allowed
    with pytest.raises(bubblewrap.SandboxUnavailable):
        Sandbox(tmp_path, Limits())
