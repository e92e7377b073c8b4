"""rnncourse.recurrent.fast and .native: every fast path equals the reference path, forward and backward."""
from __future__ import annotations

import pytest
import torch

from helpers import (DTYPES, LAYERS, TORCH_LAYERS, VALUE_DEVICES, forward_backward, initial_state, make_layer, randn,
                     randomize_)
from test_layers import WithLengths

T, B, I, H = 5, 3, 4, 6
LENGTHS = [3, 5, 1]
# torch's kernel runs these: its own models, and two LSTM variants through derived weights.
NATIVE_LAYERS = TORCH_LAYERS + ["lstm_coupled", "lstm_no_forget_gate"]


def pair(name, implementation, dtype, device="cpu", **options):
    """The reference layer and a copy that takes ``implementation``, with the same random weights."""
    reference = randomize_(make_layer(name, I, H, 2, bidirectional=True, dtype=dtype, device=device,
                                      implementation="reference", **options))
    other = make_layer(name, I, H, 2, bidirectional=True, dtype=dtype, device=device, implementation=implementation,
                       **options)
    other.load_state_dict(reference.state_dict())
    return reference, other


@pytest.mark.parametrize("device", VALUE_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(LAYERS) + ["lstm_projection"])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_fast_path_equals_reference(device, dtype, name, lengths):
    options = {"proj_size": 2} if name == "lstm_projection" else {}
    name = "lstm" if name == "lstm_projection" else name
    reference, fast = pair(name, "fast", dtype, device, **options)
    assert fast.path(device) == "fast" and reference.path(device) == "reference"
    x = randn(T, B, I, dtype=dtype, device=device)
    hx = initial_state(name, 4, B, H, dtype=dtype, device=device)
    if options:
        hx = (hx[0][..., :2], hx[1])
    torch.testing.assert_close(forward_backward(WithLengths(fast, lengths), x, hx),
                               forward_backward(WithLengths(reference, lengths), x, hx))


@pytest.mark.parametrize("name", ["lstm_peephole", "gru_reset_before", "mgu"])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
def test_compiled_step_equals_reference(name, lengths, monkeypatch):
    """The compiled path's plumbing, with torch.compile's aot_eager backend (inductor's C++ build takes ~15 s)."""
    from rnncourse.recurrent import fast

    monkeypatch.setattr(fast, "COMPILE_OPTIONS", {"backend": "aot_eager", "dynamic": False})
    for dtype in (torch.float32, torch.float64):
        reference, compiled = pair(name, "compiled", dtype)
        assert compiled.path() == "compiled"
        x, hx = randn(T, B, I, dtype=dtype), initial_state(name, 4, B, H, dtype=dtype)
        torch.testing.assert_close(forward_backward(WithLengths(compiled, lengths), x, hx),
                                   forward_backward(WithLengths(reference, lengths), x, hx))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NATIVE_LAYERS)
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("batch_first, bias", [(False, True), (True, True), (False, False)])
def test_native_path_equals_reference(dtype, name, lengths, batch_first, bias):
    reference, native = pair(name, "native", dtype, batch_first=batch_first, bias=bias)
    auto = make_layer(name, I, H, 2, bidirectional=True, dtype=dtype, bias=bias)
    derived = name in ("lstm_coupled", "lstm_no_forget_gate")  # torch's kernel by default on a GPU only
    assert native.path() == "native" and auto.path() == ("fast" if derived else "native")
    assert auto.path("cuda") == "native" and auto.path("meta") == "fast"
    x = randn(*((B, T) if batch_first else (T, B)), I, dtype=dtype)
    hx = initial_state(name, 4, B, H, dtype=dtype)
    torch.testing.assert_close(forward_backward(WithLengths(native, lengths), x, hx),
                               forward_backward(WithLengths(reference, lengths), x, hx))


@pytest.mark.parametrize("name", ["lstm_peephole", "gru_reset_before", "mgu"])
def test_fast_path_applies_the_same_dropout(name):
    reference, fast = pair(name, "fast", torch.float64, dropout=0.5)
    x = randn(T, B, I)
    results = []
    for layer in (reference.train(), fast.train()):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            results.append(layer(x))
    torch.testing.assert_close(results[0], results[1])


@pytest.mark.parametrize("name", [name for name in LAYERS if name not in NATIVE_LAYERS])
def test_auto_takes_the_fast_path_and_native_is_refused_where_torch_has_no_model(name):
    layer = make_layer(name, I, H)
    assert layer.path() == layer.path("cuda") == "fast"
    layer.implementation = "native"
    with pytest.raises(ValueError, match=r"implementation='native' needs a model torch implements"):
        layer(torch.zeros(T, B, I))


def test_implementation_is_checked():
    with pytest.raises(ValueError, match=r"expected implementation to be one of 'auto', 'compiled', 'fast', 'native', 'reference', "
                                         r"got 'quick'"):
        make_layer("gru", I, H, implementation="quick")


@pytest.mark.parametrize("name", NATIVE_LAYERS)
def test_jit_trace_of_the_native_path_follows_the_sequence_length(name):
    layer = randomize_(make_layer(name, I, H, 2, implementation="native"))
    with pytest.warns(torch.jit.TracerWarning):
        traced = torch.jit.trace(layer, randn(T, B, I, dtype=torch.float32), check_trace=False)
    longer = randn(T + 3, B, I, dtype=torch.float32, seed=1)
    torch.testing.assert_close(traced(longer), layer(longer))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", list(LAYERS))
def test_cuda_agrees_with_cpu(name):
    cpu = randomize_(make_layer(name, I, H, 2, bidirectional=True))
    cuda = make_layer(name, I, H, 2, bidirectional=True, device="cuda")
    cuda.load_state_dict(cpu.state_dict())
    x, hx = randn(T, B, I, dtype=torch.float32), initial_state(name, 4, B, H, dtype=torch.float32)
    expected = forward_backward(WithLengths(cpu, LENGTHS), x, hx)
    to_cuda = (lambda s: s.cuda()) if isinstance(hx, torch.Tensor) else (lambda s: tuple(p.cuda() for p in s))
    outputs, grads = forward_backward(WithLengths(cuda, LENGTHS), x.cuda(), to_cuda(hx))
    torch.testing.assert_close(([o.cpu() for o in outputs], {k: g.cpu() for k, g in grads.items()}), expected,
                               rtol=1e-4, atol=1e-5)
