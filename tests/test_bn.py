"""Batch-normalised recurrent cells: per-step statistics, BN-RNN, BN-LSTM, sequence-wise statistics."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.testing import assert_close

import rnncourse
from rnncourse.cells import BNLSTMCell, BNRNNCell, SequenceWise, StepwiseBatchNorm, batch_norm_step, bn_lstm_step

from helpers import DEVICES

T, B, I, H = 6, 5, 3, 4


def randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and gammas/betas (not the 0.1/0 start), so every term is exercised."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.rand(parameter.shape, generator=generator, dtype=parameter.dtype) * 1.2 - 0.6)
    return module


def data(*shape, seed=1, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def run(cell, x, lengths=None):
    """The cell over ``x (T, B, I)`` step by step, as the time-index contract calls it (forward only)."""
    state = None
    outputs = []
    for t in range(x.shape[0]):
        mask = None if lengths is None else torch.tensor(lengths) > t
        state = cell(x[t], state, t=t, mask=mask)
        outputs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(outputs)  # (T, B, H)


# ---- the oracle, from the equations, in float64 -------------------------------------------------------------

def bn_oracle(z, gamma, beta, eps=1e-5):
    mean = z.mean(0)
    var = ((z - mean) ** 2).mean(0)
    return gamma * (z - mean) / torch.sqrt(var + eps) + (0 if beta is None else beta)


def bn_lstm_oracle(cell, x):
    """Cooijmans et al.'s equations (training mode: batch statistics at every step)."""
    h = c = x.new_zeros(x.shape[1], cell.hidden_size)
    outputs = []
    for t in range(x.shape[0]):
        pre = (bn_oracle(x[t] @ cell.weight_ih.T, cell.norm_ih.weight, None)
               + bn_oracle(h @ cell.weight_hh.T, cell.norm_hh.weight, None) + cell.bias_ih)
        i, f, g, o = pre.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(bn_oracle(c, cell.norm_c.weight, cell.norm_c.bias))
        outputs.append(h)
    return torch.stack(outputs)


def test_bn_lstm_matches_the_equations_in_training():
    cell = randomize(BNLSTMCell(I, H, max_length=T, dtype=torch.float64))
    x = data(T, B, I)
    assert_close(run(cell, x), bn_lstm_oracle(cell, x))


def test_laurent_lstm_normalises_the_input_projection_only():
    cell = randomize(BNLSTMCell(I, H, max_length=T, normalize="laurent", dtype=torch.float64))
    assert cell.norm_hh is None and cell.norm_c is None
    x = data(T, B, I)
    h = c = x.new_zeros(B, H)
    for t in range(T):
        pre = bn_oracle(x[t] @ cell.weight_ih.T, cell.norm_ih.weight, None) + h @ cell.weight_hh.T + cell.bias_ih
        i, f, g, o = pre.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
    assert_close(run(cell, x)[-1], h)


def test_bn_rnn_matches_laurent_equation():
    cell = randomize(BNRNNCell(I, H, max_length=T, dtype=torch.float64))
    x = data(T, B, I)
    h = x.new_zeros(B, H)
    for t in range(T):
        h = torch.tanh(bn_oracle(x[t] @ cell.weight_ih.T, cell.norm_ih.weight, None) + h @ cell.weight_hh.T
                       + cell.bias_ih)
    assert_close(run(cell, x)[-1], h)


def test_layer_norm_lstm_matches_ba_et_al():
    cell = randomize(BNLSTMCell(I, H, max_length=T, normalize="layer", dtype=torch.float64))
    x = data(T, B, I)
    ln = nn.functional.layer_norm
    h = c = x.new_zeros(B, H)
    for t in range(T):
        pre = (ln(x[t] @ cell.weight_ih.T, (4 * H,), cell.norm_ih.weight)
               + ln(h @ cell.weight_hh.T, (4 * H,), cell.norm_hh.weight) + cell.bias_ih)
        i, f, g, o = pre.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(ln(c, (H,), cell.norm_c.weight, cell.norm_c.bias))
    assert_close(run(cell, x)[-1], h)


def test_cooijmans_initialisation():
    cell = BNLSTMCell(I, H, max_length=T)
    for norm in (cell.norm_ih, cell.norm_hh, cell.norm_c):
        assert torch.all(norm.weight == 0.1)
    assert cell.norm_ih.bias is None and cell.norm_hh.bias is None  # shifts fixed at zero
    assert torch.all(cell.norm_c.bias == 0) and torch.all(cell.bias_ih == 0)


def test_per_feature_bn_of_the_stacked_4h_equals_per_gate_bn():
    z = data(B, 4 * H)
    gamma = data(4 * H, seed=2)
    per_gate = torch.cat([bn_oracle(block, g, None) for block, g in zip(z.chunk(4, 1), gamma.chunk(4))], dim=1)
    norm = StepwiseBatchNorm(4 * H, 1, shift=False, dtype=torch.float64)
    with torch.no_grad():
        norm.weight.copy_(gamma)
    assert_close(norm(z, 0), per_gate)


# ---- running statistics ------------------------------------------------------------------------------------

@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_running_statistics_update_as_batchnorm1d(momentum):
    norm = StepwiseBatchNorm(H, max_length=3, momentum=momentum, dtype=torch.float64)
    references = [nn.BatchNorm1d(H, momentum=momentum, dtype=torch.float64) for _ in range(3)]
    for repeat in range(4):
        for t in range(5):  # steps 3 and 4 go to the last row, as to the last reference
            z = data(B, H, seed=10 * repeat + t) * (t + 1) + t
            assert_close(norm(z, t), references[min(t, 2)](z))
    for row, reference in enumerate(references):
        assert_close(norm.running_mean[row], reference.running_mean)
        assert_close(norm.running_var[row], reference.running_var)  # the unbiased variance
        assert norm.num_batches_tracked[row] == reference.num_batches_tracked


def test_max_length_one_is_batchnorm1d_in_eval_too():
    norm, reference = StepwiseBatchNorm(H, 1, dtype=torch.float64), nn.BatchNorm1d(H, dtype=torch.float64)
    randomize(norm), reference.load_state_dict({k: v.reshape(-1) if v.dim() else v for k, v in
                                                {**dict(norm.named_parameters()), **dict(norm.named_buffers())}.items()})
    norm(data(B, H)), reference(data(B, H))
    norm.eval(), reference.eval()
    assert_close(norm(data(B, H, seed=3)), reference(data(B, H, seed=3)))


def test_padded_entries_are_left_out_of_the_statistics():
    z = data(B, H)
    mask = torch.tensor([True, False, True, True, False])
    norm, reference = StepwiseBatchNorm(H, 2, dtype=torch.float64), nn.BatchNorm1d(H, dtype=torch.float64)
    out = norm(z, 1, mask)
    assert_close(out[mask], reference(z[mask]))
    assert_close(norm.running_mean[1], reference.running_mean)
    assert_close(norm.running_var[1], reference.running_var)
    assert torch.all(norm.running_mean[0] == 0)  # the other step's row is untouched


def test_padding_does_not_change_a_cell_in_a_layer():
    """Padded steps change neither the outputs nor the running statistics of the real entries."""
    torch.manual_seed(0)
    cell = randomize(BNLSTMCell(I, H, max_length=T, dtype=torch.float64))
    twin = randomize(BNLSTMCell(I, H, max_length=T, dtype=torch.float64))
    x = data(T, B, I)
    lengths = [6, 6, 4, 3, 6]
    garbage = x.clone()
    for b, length in enumerate(lengths):
        garbage[length:, b] = 1e3
    out_a, _ = rnncourse.Recurrent(cell)(x, lengths=lengths)
    out_b, _ = rnncourse.Recurrent(twin)(garbage, lengths=lengths)
    assert_close(out_a, out_b)
    assert_close(cell.norm_hh.running_var, twin.norm_hh.running_var)


def test_a_step_with_one_real_entry_keeps_its_running_statistics():
    norm = StepwiseBatchNorm(H, 2, dtype=torch.float64)
    z = data(B, H)
    out = norm(z, 0, torch.tensor([True, False, False, False, False]))
    assert torch.all(norm.running_mean == 0) and torch.all(norm.num_batches_tracked == 0)
    assert_close(out, z / (1 + 1e-5) ** 0.5)


# ---- evaluation ----------------------------------------------------------------------------------------------

def trained(cell, steps=T, batches=6):
    """The cell after some training-mode passes, where step t's inputs have their own mean and scale."""
    for k in range(batches):
        run(cell, data(steps, 8, I, seed=100 + k) * torch.linspace(0.5, 3, steps).reshape(-1, 1, 1)
            + torch.arange(steps).reshape(-1, 1, 1))
    return cell.eval()


def shared_statistics_forward(cell, x):
    """A deliberately wrong evaluation: every step normalised with the average of all steps' statistics."""
    norms = [n for n in (cell.norm_ih, cell.norm_hh, cell.norm_c) if n is not None]
    saved = [(n.running_mean.clone(), n.running_var.clone()) for n in norms]
    with torch.no_grad():
        for n in norms:
            n.running_mean.copy_(n.running_mean.mean(0).expand_as(n.running_mean))
            n.running_var.copy_(n.running_var.mean(0).expand_as(n.running_var))
    try:
        return run(cell, x)
    finally:
        with torch.no_grad():
            for n, (mean, var) in zip(norms, saved):
                n.running_mean.copy_(mean)
                n.running_var.copy_(var)


def eval_oracle(cell, x):
    """Eval-mode equations with the statistics of step min(t, T_max - 1)."""
    def bn(norm, z, t):
        s = min(t, norm.max_length - 1)
        out = (z - norm.running_mean[s]) / torch.sqrt(norm.running_var[s] + norm.eps) * norm.weight
        return out if norm.bias is None else out + norm.bias
    h = c = x.new_zeros(x.shape[1], H)
    outputs = []
    for t in range(x.shape[0]):
        pre = bn(cell.norm_ih, x[t] @ cell.weight_ih.T, t) + bn(cell.norm_hh, h @ cell.weight_hh.T, t) + cell.bias_ih
        i, f, g, o = pre.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(bn(cell.norm_c, c, t))
        outputs.append(h)
    return torch.stack(outputs)


def test_eval_uses_the_statistics_of_the_right_step():
    cell = trained(randomize(BNLSTMCell(I, H, max_length=T, dtype=torch.float64)))
    x = data(T, B, I, seed=7) * torch.linspace(0.5, 3, T).reshape(-1, 1, 1) + torch.arange(T).reshape(-1, 1, 1)
    expected = eval_oracle(cell, x)
    assert_close(run(cell, x), expected)
    with pytest.raises(AssertionError):  # the test tells the shared-statistics mistake apart
        assert_close(shared_statistics_forward(cell, x), expected)


def test_steps_beyond_max_length_reuse_the_last_steps_statistics():
    cell = trained(randomize(BNLSTMCell(I, H, max_length=3, dtype=torch.float64)), steps=3)
    x = data(T + 4, B, I, seed=8)
    assert_close(run(cell, x), eval_oracle(cell, x))


def test_in_eval_a_sequence_does_not_depend_on_the_rest_of_the_batch():
    cell = trained(randomize(BNLSTMCell(I, H, max_length=T, dtype=torch.float64)))
    x = data(T, B, I, seed=9)
    alone = run(cell, x[:, :1])
    other = torch.cat([x[:, :1], data(T, B - 1, I, seed=10) * 5], dim=1)
    assert_close(run(cell, other)[:, :1], alone)
    cell.train()
    assert not torch.allclose(run(cell, other)[:, :1], run(cell, x)[:, :1])  # in training it does


# ---- sequence-wise statistics (Laurent et al.) ----------------------------------------------------------------

@pytest.mark.parametrize("cell_class", ["rnn", "lstm"])
def test_sequence_wise_statistics_are_over_batch_and_time(cell_class):
    if cell_class == "rnn":
        cell = randomize(BNRNNCell(I, H, max_length=T, statistics="sequence", dtype=torch.float64))
    else:
        cell = randomize(BNLSTMCell(I, H, T, normalize="laurent", statistics="sequence", dtype=torch.float64))
    x = data(T, B, I)
    lengths = [6, 2, 5, 6, 3]
    real = torch.arange(T).unsqueeze(1) < torch.tensor(lengths)  # (T, B)
    projected = x @ cell.weight_ih.T  # (T, B, G*H)
    normalised = torch.zeros_like(projected)
    normalised[real] = bn_oracle(projected[real], cell.norm_ih.weight, None)
    state = tuple(x.new_zeros(B, H) for _ in range(cell.state_count))
    for t in range(T):
        new = cell.recur(normalised[t], state, t)
        state = tuple(torch.where(real[t].unsqueeze(1), n, s) for n, s in zip(new, state))
    output, h_n = SequenceWise(cell)(x, lengths=lengths)
    assert_close(h_n if cell.state_count == 1 else h_n[0], state[0])
    assert cell.norm_ih.running_mean.shape == (1, cell.weight_ih.shape[0])
    assert_close(cell.norm_ih.running_mean[0], 0.1 * projected[real].mean(0))


def test_sequence_wise_cell_refuses_a_single_step():
    cell = BNRNNCell(I, H, max_length=T, statistics="sequence")
    with pytest.raises(ValueError, match="SequenceWise"):
        cell(torch.zeros(B, I))
    with pytest.raises(ValueError, match="laurent"):
        BNLSTMCell(I, H, T, statistics="sequence")


# ---- inside the course's layers, gradients, devices, errors --------------------------------------------------

def test_recurrent_and_stacked_run_the_cell_as_step_by_step():
    cell = randomize(BNLSTMCell(I, H, max_length=T, dtype=torch.float64))
    x = data(T, B, I)
    output, (h_n, c_n) = rnncourse.Recurrent(cell)(x)
    assert_close(output, bn_lstm_oracle(cell, x))
    stack = rnncourse.Stacked(lambda i, h: randomize(BNLSTMCell(i, h, T, dtype=torch.float64)), I, H, num_layers=2)
    output, _ = stack(x)
    first = bn_lstm_oracle(stack.cells[0][0], x)
    assert_close(output, bn_lstm_oracle(stack.cells[1][0], first))


def test_backward_direction_counts_steps_from_each_sequences_end():
    cell = trained(randomize(BNLSTMCell(I, H, max_length=T, dtype=torch.float64)))
    x = data(T, B, I)
    output, _ = rnncourse.Recurrent(cell, reverse=True)(x)
    assert_close(output.flip(0), eval_oracle(cell, x.flip(0)))


@pytest.mark.parametrize("normalize", ["cooijmans", "laurent", "layer"])
def test_gradcheck(normalize):
    cell = randomize(BNLSTMCell(2, 3, max_length=2, normalize=normalize, dtype=torch.float64))
    x = data(3, 4, 2).requires_grad_()
    weights = tuple(cell.parameters())

    def forward(x, *_):
        return rnncourse.Recurrent(cell)(x, lengths=[3, 2, 3, 3])[0]

    assert torch.autograd.gradcheck(forward, (x, *weights))


def test_gradcheck_of_the_pure_step_and_batch_norm_step():
    x, h, c = data(4, 2), data(4, 3, seed=2), data(4, 3, seed=3)
    w_ih, w_hh, b = data(12, 2, seed=4), data(12, 3, seed=5), data(12, seed=6)
    gamma = data(12, seed=7)
    args = tuple(a.requires_grad_() for a in (x, h, c, w_ih, w_hh, b, gamma))

    def step(x, h, c, w_ih, w_hh, b, gamma):
        def norm(z):
            return batch_norm_step(z, 0, torch.zeros(1, z.shape[1], dtype=z.dtype), torch.ones(1, z.shape[1], dtype=z.dtype),
                                   gamma[: z.shape[1]], training=True)
        return bn_lstm_step(x, (h, c), w_ih, w_hh, b, norm_ih=norm, norm_hh=norm, norm_c=norm)

    assert torch.autograd.gradcheck(step, args)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("normalize", ["cooijmans", "laurent", "layer", "none"])
def test_devices(device, normalize):
    cell = BNLSTMCell(I, H, max_length=2, normalize=normalize, device=device)
    x = torch.randn(T, B, I, device=device)
    output, (h_n, c_n) = rnncourse.Recurrent(cell)(x, lengths=[6, 5, 4, 3, 6])
    assert output.device.type == device and output.shape == (T, B, H)
    cell.eval()
    assert cell(x[0], t=9)[0].device.type == device
    rnn = SequenceWise(BNRNNCell(I, H, max_length=2, statistics="sequence", device=device))
    assert rnn(x, lengths=[6, 5, 4, 3, 6])[0].device.type == device


@pytest.mark.parametrize("normalize", ["cooijmans", "laurent", "layer", "none"])
def test_module_conversions_reach_every_norm(normalize):
    """.double() and .to() (nn.Module._apply, which a cell must not shadow) move the norms' buffers too."""
    layer = rnncourse.Recurrent(BNLSTMCell(I, H, max_length=T, normalize=normalize)).double()
    assert all(p.dtype == torch.float64 for p in layer.parameters())
    assert all(b.dtype == torch.float64 for name, b in layer.named_buffers() if "running" in name)
    output, _ = layer.to("meta")(torch.randn(T, B, I, dtype=torch.float64, device="meta"))
    assert output.device.type == "meta" and output.dtype == torch.float64
    rnn = SequenceWise(BNRNNCell(I, H, max_length=2, statistics="sequence")).double()
    assert rnn(torch.randn(T, B, I, dtype=torch.float64))[0].dtype == torch.float64


def test_errors():
    norm = StepwiseBatchNorm(H, 2)
    with pytest.raises(ValueError, match=r"\(B, F\)"):
        norm(torch.zeros(B, H + 1))
    with pytest.raises(ValueError, match="mask"):
        norm(torch.zeros(B, H), 0, torch.ones(B))
    with pytest.raises(ValueError, match="non-negative"):
        norm(torch.zeros(B, H), -1)
    with pytest.raises(ValueError, match="normalize"):
        BNLSTMCell(I, H, 2, normalize="batch")
    with pytest.raises(ValueError, match="max_length"):
        BNLSTMCell(I, H, 0)
    with pytest.raises(TypeError, match="statistics='sequence'"):
        SequenceWise(BNRNNCell(I, H, 2))
