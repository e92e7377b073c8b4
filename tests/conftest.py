"""Shared test fixtures: the device and dtype grids, a seeded generator, and weight helpers.

Request ``device`` or ``dtype`` in a test to run it once per entry of the grid. ``device`` includes
``meta``, which holds shapes but no values (it catches a tensor created without ``device=``); use
``value_device`` where a test compares numbers. The helpers are fixtures rather than importable
functions because several ``conftest.py`` files may share the module name ``conftest``; plain
functions that module-level code of a test file calls live in ``tests/helpers.py``.
"""
from __future__ import annotations

import pytest
import torch

def pytest_configure(config):
    # The tensors in the tests are tiny: one thread per test process beats several that fight
    # over the machine's few cores (tens of times faster on a shared two-core machine).
    torch.set_num_threads(1)


DEVICES = ["cpu", "meta"] + (["cuda"] if torch.cuda.is_available() else [])
VALUE_DEVICES = [name for name in DEVICES if name != "meta"]
DTYPES = [torch.float32, torch.float64]


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    return torch.device(request.param)


@pytest.fixture(params=VALUE_DEVICES)
def value_device(request) -> torch.device:
    return torch.device(request.param)


@pytest.fixture(params=DTYPES, ids=lambda dtype: str(dtype).removeprefix("torch."))
def dtype(request) -> torch.dtype:
    return request.param


@pytest.fixture
def generator() -> torch.Generator:
    """A CPU generator seeded with 0: a test's random numbers do not depend on the order tests run in.

    Draw on the CPU and move the result: ``torch.randn(3, generator=generator).to(device)``.
    """
    return torch.Generator().manual_seed(0)


@pytest.fixture
def randomize(generator):
    """``randomize(module, scale=0.5)`` fills every parameter uniformly in ``(-scale, scale)`` from ``generator``."""
    def fill(module: torch.nn.Module, scale: float = 0.5) -> torch.nn.Module:
        with torch.no_grad():
            for parameter in module.parameters():
                values = torch.empty(parameter.shape, dtype=parameter.dtype)
                parameter.copy_(values.uniform_(-scale, scale, generator=generator))
        return module

    return fill


@pytest.fixture
def copy_weights():
    """``copy_weights(source, target)`` loads ``source``'s state_dict into ``target`` after checking that
    both have the same parameter names and shapes; returns ``target``."""
    def layout(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
        return {name: tuple(value.shape) for name, value in module.state_dict().items()}

    def copy(source: torch.nn.Module, target: torch.nn.Module) -> torch.nn.Module:
        assert layout(target) == layout(source), f"state_dict layouts differ: {layout(target)} != {layout(source)}"
        target.load_state_dict(source.state_dict())
        return target

    return copy


@pytest.fixture
def close_figures(monkeypatch):
    """Fail if a function calls plt.show(); close every figure a test made.

    The viz test modules use it for every test (``pytestmark = pytest.mark.usefixtures("close_figures")``).
    pyplot is imported here, not at the top: a test module picks the Agg backend before pyplot loads.
    """
    import matplotlib.pyplot as plt

    def refuse_show(*args, **kwargs):
        raise AssertionError("viz functions must return figures, not call plt.show()")

    monkeypatch.setattr(plt, "show", refuse_show)
    yield
    plt.close("all")
