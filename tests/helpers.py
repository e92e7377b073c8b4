"""Plain helper functions shared by the test modules: ``from helpers import randn, forward_backward``.

Fixtures belong in ``conftest.py``; this module holds what a module-level helper of a test file
(an oracle, ``functional_call_of``) calls too. It imports as ``helpers`` because pytest's default
``prepend`` import mode puts ``tests/`` (no ``__init__.py``) on ``sys.path`` before it imports a test
module; under ``--doctest-modules`` pytest collects this file as well and finds no doctests in it.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

# The parameter grids of the recurrent-model tests (test_gru, test_lstm, test_mgu).
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
VALUE_DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]
DEVICES = ["cpu", "meta", pytest.param("cuda", marks=CUDA)]
DTYPES = [pytest.param(torch.float32, id="float32"), pytest.param(torch.float64, id="float64")]
# The front matter that makes a MyST Markdown file a notebook page of the book (for tests that build pages).
NOTEBOOK_FRONT_MATTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


def flatten(value) -> list[torch.Tensor]:
    """The tensors of a nested tuple such as ``(output, (h_n, c_n))``, in order; ``None`` gives none."""
    if value is None:
        return []
    if isinstance(value, torch.Tensor):
        return [value]
    return [tensor for part in value for tensor in flatten(part)]


def leaf_copy(value):
    """A fresh leaf that requires grad, for each tensor of a nested tuple, so two models get equal inputs."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_()
    return tuple(leaf_copy(part) for part in value)


def forward_backward(module: nn.Module, x: torch.Tensor, hx, parameters: bool = True) -> tuple[list, dict]:
    """``module(x, hx)`` and the gradients of a fixed random projection of its outputs.

    Returns the outputs as a flat list and a dict of gradients by name: ``"input"``; the initial
    state, as ``"hx"`` for a tensor or ``"hx[0]"``, ``"hx[1]"``, ... for a tuple (none for ``None``);
    and, unless ``parameters=False`` (two models whose parameters share names but not shapes), every
    parameter by name, so two models with the same names compare in one call.
    """
    x, hx = leaf_copy(x), leaf_copy(hx)
    outputs = flatten(module(x, hx))
    generator = torch.Generator().manual_seed(1)
    loss = sum((out * torch.randn(out.shape, generator=generator, dtype=out.dtype).to(out.device)).sum()
               for out in outputs)
    states = {"hx": hx} if isinstance(hx, torch.Tensor) else {f"hx[{k}]": s for k, s in enumerate(flatten(hx))}
    leaves = {"input": x, **states, **(dict(module.named_parameters()) if parameters else {})}
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return outputs, dict(zip(leaves, grads))


def randomize_(module: nn.Module, seed: int = 0, scale: float = 0.6) -> nn.Module:
    """Every parameter uniform in ``(-scale, scale)``, wider than torch's default so that gates leave 1/2."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            values = torch.empty(parameter.shape, dtype=torch.float64).uniform_(-scale, scale, generator=generator)
            parameter.copy_(values.to(parameter.dtype))
    return module


def randn(*shape, dtype=torch.float64, device="cpu", seed=0) -> torch.Tensor:
    """Standard normal values drawn in float64 on the CPU from ``seed``, then cast and moved."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64).to(dtype=dtype, device=device)


def functional_call_of(module: nn.Module, states: int = 1):
    """``module`` as a function of its input, its ``states`` state tensors and its parameters, for gradcheck.

    ``call(x, h, *params)`` passes ``h`` as the state; with ``states=2``, ``call(x, h, c, *params)``
    passes ``(h, c)``. Returns ``call`` and fresh leaf copies of the parameters.
    """
    names = [name for name, _ in module.named_parameters()]

    def call(x, *tensors):
        state, params = tensors[:states], tensors[states:]
        hx = state[0] if states == 1 else tuple(state)
        return tuple(flatten(torch.func.functional_call(module, dict(zip(names, params)), (x, hx))))

    return call, [parameter.detach().clone().requires_grad_() for parameter in module.parameters()]


def stacked_oracle(step, x: torch.Tensor, state, params: dict, num_layers: int, bidirectional: bool):
    """A stacked (bidirectional) recurrent layer over time-major ``x (T, B, I)``, run by an oracle cell.

    ``step(x_t, s, p)`` is one step of one direction of one layer: ``p`` holds that direction's
    parameters from torch-named ``params`` without their ``_l{k}[_reverse]`` suffix, and ``s`` is a
    tensor ``h`` (whose new value is the output) or a tuple whose first entry is the output. ``state``
    is ``h0 (L * D, B, H)`` or a tuple of such tensors; returns the output and the final state in
    the same form.
    """
    directions = 2 if bidirectional else 1
    steps = x.shape[0]
    finals = []
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            p = {name[: -len(suffix)]: value for name, value in params.items() if name.endswith(suffix)}
            row = layer * directions + direction
            s = state[row] if isinstance(state, torch.Tensor) else tuple(part[row] for part in state)
            out = [None] * steps
            for t in (reversed(range(steps)) if direction else range(steps)):
                s = step(x[t], s, p)
                out[t] = s if isinstance(s, torch.Tensor) else s[0]
            outputs.append(torch.stack(out))
            finals.append(s)
        x = torch.cat(outputs, dim=-1)
    if isinstance(state, torch.Tensor):
        return x, torch.stack(finals)
    return x, tuple(torch.stack([final[k] for final in finals]) for k in range(len(state)))


def texts(ax) -> list[str]:
    """The strings of the texts drawn on a matplotlib ``ax``, in drawing order."""
    return [text.get_text() for text in ax.texts]


# Every layer the package offers, by name: (our class, its options, torch's class or None). The
# variable-length, stacking and API grids run over all of them; torch is the oracle where it has the model.
LSTM_VARIANTS = {
    "forget_gate": {},
    "no_forget_gate": {"forget_gate": False},
    "peephole": {"peephole": True},
    "peephole_no_forget_gate": {"peephole": True, "forget_gate": False},
    "coupled": {"coupled": True},
    "coupled_peephole": {"coupled": True, "peephole": True},
}


def layer_registry():
    import rnncourse

    layers = {"rnn_tanh": (rnncourse.RNN, {}, nn.RNN),
              "rnn_relu": (rnncourse.RNN, {"nonlinearity": "relu"}, nn.RNN)}
    for name, options in LSTM_VARIANTS.items():
        layers["lstm" if not options else f"lstm_{name}"] = (rnncourse.LSTM, options, nn.LSTM if not options else None)
    layers["gru"] = (rnncourse.GRU, {}, nn.GRU)
    layers["gru_reset_before"] = (rnncourse.GRU, {"reset_after": False}, None)
    layers["mgu"] = (rnncourse.MGU, {}, None)
    return layers


LAYERS = layer_registry()
TORCH_LAYERS = [name for name, (_, _, reference) in LAYERS.items() if reference is not None]


def make_layer(name: str, *args, **kwargs) -> nn.Module:
    """Our layer ``name`` of :data:`LAYERS`, built with ``args``, ``kwargs`` and the entry's options."""
    cls, options, _ = LAYERS[name]
    return cls(*args, **{**options, **kwargs})


def make_torch_layer(name: str, *args, **kwargs) -> nn.Module:
    """torch's layer for ``name`` with the same arguments (``nonlinearity`` passed on for the RNN)."""
    _, options, reference = LAYERS[name]
    return reference(*args, **{**options, **kwargs})


def initial_state(name: str, rows: int, batch: int, hidden: int, dtype=torch.float64, device="cpu", seed=1):
    """A random ``hx`` in the form the layer takes: ``h0`` or, for the LSTMs, ``(h0, c0)``."""
    h0 = randn(rows, batch, hidden, dtype=dtype, device=device, seed=seed)
    if LAYERS[name][0].cell_class.state_count == 1:
        return h0
    return h0, randn(rows, batch, hidden, dtype=dtype, device=device, seed=seed + 1)
