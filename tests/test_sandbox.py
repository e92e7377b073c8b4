"""The dispatcher-level refusal (rnncourse.grading.refusal) and the capability vocabulary, without nbgrader:
every route to a forbidden computation that the issue names meets the refusal, honest code is untouched,
and a removed guard is noticed."""
from __future__ import annotations

import pytest
import torch

from rnncourse.grading import checks
from rnncourse.grading.forbidden import AUTOGRAD, BATCH_NORM, GRU_CELLS, LSTM_CELLS, RNN_CELLS, resolve
from rnncourse.grading.refusal import ForbiddenCall, forbid, is_refusal

X, H, C = torch.randn(2, 3), torch.randn(2, 4), torch.randn(2, 4)
W1, W3, W4 = torch.randn(4, 3), torch.randn(12, 3), torch.randn(16, 3)
U1, U3, U4 = torch.randn(4, 4), torch.randn(12, 4), torch.randn(16, 4)



def in_dual_level(make):
    """``make(level)`` inside a forward-AD level entered without the (refused) ``dual_level`` class."""
    level = torch._C._enter_dual_level()
    try:
        return make(level)
    finally:
        torch._C._exit_dual_level(level=level)


def decomposition(op):
    """``op``'s Python decomposition from torch's table: basic operators only, so no aten kernel of ``op`` runs."""
    import torch._decomp

    return torch._decomp.decomposition_table[op]


ROUTES = {
    RNN_CELLS: [lambda: torch.rnn_tanh_cell(X, H, W1, U1),
                lambda: torch.ops.aten.rnn_tanh_cell.default(X, H, W1, U1),
                lambda: torch._VF.rnn_relu_cell(X, H, W1, U1),
                lambda: torch.nn.modules.rnn.RNNCell(3, 4)(X, H),
                lambda: torch.nn.RNN(3, 4)(X[None]),
                lambda: torch.jit.script(torch.nn.RNNCell(3, 4))(X, H)],
    LSTM_CELLS: [lambda: torch.ops.aten.lstm_cell.default(X, (H, C), W4, U4),
                 lambda: decomposition(torch.ops.aten.lstm.input)(X[None], (H[None], C[None]), [W4, U4], False, 1,
                                                                  0.0, False, False, False),
                 lambda: torch.nn.modules.rnn.LSTMCell(3, 4)(X, (H, C)),
                 lambda: torch.nn.LSTM(3, 4)(X[None])],
    GRU_CELLS: [lambda: torch.ops.aten.gru_cell.default(X, H, W3, U3),
                lambda: torch.nn.modules.rnn.GRUCell(3, 4)(X, H),
                lambda: torch.nn.GRU(3, 4)(X[None])],
    BATCH_NORM: [lambda: torch.nn.functional.batch_norm(X, None, None, training=True),
                 lambda: decomposition(torch.ops.aten.native_batch_norm.default)(X, None, None, None, None, True, 0.1,
                                                                                 1e-5),
                 lambda: torch._decomp.decompositions.native_batch_norm(X, None, None, None, None, True, 0.1, 1e-5)],
    AUTOGRAD: [lambda: torch.func.jacfwd(torch.sin)(X),
               lambda: in_dual_level(lambda level: torch.autograd.forward_ad.make_dual(X, X, level=level)),
               lambda: in_dual_level(lambda level: torch._make_dual(X, X, level=level)),
               lambda: torch.func.jacrev(torch.sin)(X)],
}
CASES = [(capability, index) for capability, routes in ROUTES.items() for index in range(len(routes))]


@pytest.mark.parametrize("capability, index", CASES, ids=[f"{c.name}-{i}" for c, i in CASES])
@pytest.mark.parametrize("disabled", [False, True], ids=["plain", "torch_function_disabled"])
def test_every_route_meets_the_refusal(capability, index, disabled):
    with forbid((capability,), "part"):
        with pytest.raises(Exception) as raised:
            if disabled:
                with torch._C.DisableTorchFunction():
                    ROUTES[capability][index]()
            else:
                ROUTES[capability][index]()
    assert is_refusal(raised.value), raised.value
    ROUTES[capability][index]()  # and the refusal is gone after the block


def test_autograd_reached_any_way_is_noticed():
    with pytest.raises(ForbiddenCall, match="autograd recorded"):
        with forbid((AUTOGRAD,), "part"):
            with torch.enable_grad():
                w = torch.randn(3, requires_grad=True)
                w.tanh().grad_fn(torch.ones(3))  # a backward node called by hand, no engine


def test_honest_code_is_not_refused():
    with forbid((RNN_CELLS, AUTOGRAD), "part"):
        torch.tanh(X @ W1.T + H @ U1.T).sum()
        with torch.no_grad():
            torch.sigmoid(X)


def test_a_removed_registration_is_noticed():
    with forbid((RNN_CELLS,), "part") as guard:
        assert guard.problems() == []
        library = torch.library.Library("aten", "IMPL")
        library.impl("rnn_tanh_cell", lambda *args: args[1], "CompositeImplicitAutograd")
        assert any("rnn_tanh_cell" in problem for problem in guard.problems())
        library._destroy()


def test_dotted_names_bring_in_their_capability():
    capabilities, names = resolve(("torch.nn.LSTM", "rnncourse.cells.LSTMCell"))
    assert capabilities == (LSTM_CELLS,) and "rnncourse.cells.LSTMCell" in names and "torch.lstm_cell" in names
    assert resolve(("AUTOGRAD",))[0] == (AUTOGRAD,)
    with pytest.raises(TypeError):
        resolve((3,))


@pytest.mark.parametrize("name, shortcut", [
    ("elman_step", "lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.ops.aten.rnn_tanh_cell.default(x, h, W_ih, W_hh, b_ih, b_hh)"),
    ("gru_step", "lambda x, h, W_ih, W_hh, b_ih, b_hh: torch.ops.aten.gru_cell.default(x, h, W_ih, W_hh, b_ih, b_hh)"),
])
def test_the_notebook_checks_refuse_the_operator_overload(name, shortcut):
    with pytest.raises(AssertionError, match="may not use"):
        getattr(checks, name)(eval(shortcut))
