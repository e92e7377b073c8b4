"""The package as a whole: importing it has no side effects, and its public names exist."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import rnncourse

# Runs in a fresh interpreter, where nothing else has imported matplotlib or touched torch's RNG yet.
IMPORT_PROBE = """
import json, socket, sys
import torch

def refuse(*args, **kwargs):
    raise OSError("rnncourse tried to open a network connection on import")

socket.socket.connect = refuse
rng_before = torch.random.get_rng_state()
import rnncourse
report = {
    "rng_unchanged": torch.equal(rng_before, torch.random.get_rng_state()),
    "graphics_modules": sorted({name.split(".")[0] for name in sys.modules} & {"matplotlib", "PIL"}),
    "cuda_initialized": torch.cuda.is_initialized(),
}
with open(sys.argv[1], "w") as file:
    json.dump(report, file)
"""


@pytest.fixture(scope="module")
def import_report(tmp_path_factory):
    """Import rnncourse in a subprocess started in an empty folder; returns its report, stdout, stderr and
    what the folder holds afterwards."""
    folder = tmp_path_factory.mktemp("import")
    workdir, report = folder / "cwd", folder / "report.json"
    workdir.mkdir()
    completed = subprocess.run([sys.executable, "-c", IMPORT_PROBE, str(report)], cwd=workdir, capture_output=True,
                               text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(report.read_text()), completed.stdout, completed.stderr, sorted(workdir.iterdir())


def test_import_prints_nothing(import_report):
    _, stdout, stderr, _ = import_report
    assert stdout == "" and stderr == ""


def test_import_does_not_touch_torchs_random_state(import_report):
    assert import_report[0]["rng_unchanged"]


def test_import_does_not_import_matplotlib(import_report):
    assert import_report[0]["graphics_modules"] == []


def test_import_does_not_initialise_cuda(import_report):
    assert not import_report[0]["cuda_initialized"]


def test_import_writes_no_files(import_report):
    assert import_report[3] == []


def test_device_is_cuda_only_when_available():
    chosen = rnncourse.device()
    assert isinstance(chosen, torch.device)
    assert chosen == torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("module", [rnncourse, rnncourse.cells], ids=lambda module: module.__name__)
def test_public_names_exist(module):
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
    assert len(set(module.__all__)) == len(module.__all__)


def test_core_api_is_public():
    assert {"RNN", "Recurrent", "RecurrentLayers", "cells", "device", "functional", "unroll"} <= set(rnncourse.__all__)
    assert {"RecurrentCell", "ElmanCell", "JordanCell"} <= set(rnncourse.cells.__all__)
    assert isinstance(rnncourse.__version__, str)
