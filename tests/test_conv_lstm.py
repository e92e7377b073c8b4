"""ConvLSTM: every form against a float64 oracle written from Shi et al.'s equations, the LSTM cell as its
1x1 special case, 'same' padding, strides only on the input side, the stacked layer, gradients, meta."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as TF

from rnncourse.cells import ConvLSTM, ConvLSTMCell, LSTMCell
from rnncourse.functional_conv import conv2d_same, conv_lstm_step, same_padding

from helpers import DEVICES, DTYPES

FORMS = {
    "keras": dict(),  # forget gate, no peepholes (ConvLSTM2D)
    "shi": dict(peephole=True),  # forget gate and Hadamard peepholes
    "source": dict(forget_gate=False),  # the course source: neither
    "source_peephole": dict(forget_gate=False, peephole=True),
}
B, C_IN, C_H, H, W = 2, 3, 4, 5, 6


# ---------------------------------------------------------------------------------------------
# The oracle: convolution as a sum of shifted copies, and the gates written out one by one.


def oracle_conv(x, weight):
    """Stride-1 'same' convolution of ``x (B, C, H, W)``: (k-1)//2 zeros before, the rest after."""
    kh, kw = weight.shape[-2:]
    top, left = (kh - 1) // 2, (kw - 1) // 2
    rows, cols = x.shape[-2:]
    padded = x.new_zeros(x.shape[0], x.shape[1], rows + kh - 1, cols + kw - 1)
    padded[:, :, top:top + rows, left:left + cols] = x
    return sum(torch.einsum("oc,bchw->bohw", weight[:, :, dy, dx], padded[:, :, dy:dy + rows, dx:dx + cols])
               for dy in range(kh) for dx in range(kw))


def oracle_step(x, state, p, forget_gate=True, peephole=False):
    h, c = state
    gates = "ifgo" if forget_gate else "igo"
    n = h.shape[1]

    def pre(gate):
        rows = slice(gates.index(gate) * n, (gates.index(gate) + 1) * n)
        value = oracle_conv(x, p["weight_ih"][rows]) + oracle_conv(h, p["weight_hh"][rows])
        return value + p["bias"][rows][:, None, None] if "bias" in p else value

    i = torch.sigmoid(pre("i") + (p["weight_ci"] * c if peephole else 0))
    f = torch.sigmoid(pre("f") + (p["weight_cf"] * c if peephole else 0)) if forget_gate else 1.0
    c_new = f * c + i * torch.tanh(pre("g"))
    o = torch.sigmoid(pre("o") + (p["weight_co"] * c_new if peephole else 0))
    return o * torch.tanh(c_new), c_new


def make_cell(form, kernel=3, hidden_kernel=None, dtype=torch.float64, device="cpu", seed=0, **kw):
    torch.manual_seed(seed)
    cell = ConvLSTMCell(C_IN, C_H, kernel, spatial_size=(H, W), hidden_kernel_size=hidden_kernel,
                        device=device, dtype=dtype, **FORMS[form], **kw)
    return cell


def randn(*shape, dtype=torch.float64, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ---------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5, (2, 3)])
@pytest.mark.parametrize("size", [(5, 6), (4, 7)])
def test_same_padding_matches_torch_for_odd_and_even_kernels(kernel, size):
    x = randn(2, 3, *size)
    weight = randn(4, 3, *((kernel, kernel) if isinstance(kernel, int) else kernel), seed=2)
    ours = conv2d_same(x, weight)
    assert ours.shape[-2:] == size
    torch.testing.assert_close(ours, TF.conv2d(x, weight, padding="same"))
    torch.testing.assert_close(ours, oracle_conv(x, weight))


@pytest.mark.parametrize("size, kernel, stride, expected", [(64, 3, 1, (1, 1)), (64, 4, 1, (1, 2)),
                                                            (64, 3, 2, (0, 1)), (63, 3, 2, (1, 1))])
def test_same_padding_values(size, kernel, stride, expected):
    assert same_padding(size, kernel, stride) == expected


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kernel, hidden_kernel", [(3, None), (2, 4), (1, 5)])
def test_each_form_matches_the_oracle(form, kernel, hidden_kernel):
    cell = make_cell(form, kernel, hidden_kernel)
    params = dict(cell.named_parameters())
    x, h, c = randn(B, C_IN, H, W), randn(B, C_H, H, W, seed=3), randn(B, C_H, H, W, seed=4)
    ours = cell(x, (h, c))
    expected = oracle_step(x, (h, c), params, **FORMS[form])
    for a, b in zip(ours, expected):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("options", [{}, {"peephole": True}, {"forget_gate": False}])
def test_1x1_kernel_on_1x1_map_is_the_lstm_cell(options):
    lstm = LSTMCell(C_IN, C_H, dtype=torch.float64, **options)
    conv = ConvLSTMCell(C_IN, C_H, 1, spatial_size=(1, 1), dtype=torch.float64, **options)
    with torch.no_grad():
        conv.weight_ih.copy_(lstm.weight_ih[..., None, None])
        conv.weight_hh.copy_(lstm.weight_hh[..., None, None])
        conv.bias.copy_(lstm.bias_ih + lstm.bias_hh)
        for name in ("weight_ci", "weight_cf", "weight_co"):
            if hasattr(lstm, name):
                getattr(conv, name).copy_(getattr(lstm, name)[:, None, None])
    x, h, c = randn(B, C_IN), randn(B, C_H, seed=3), randn(B, C_H, seed=4)
    expected = lstm(x, (h, c))
    ours = conv(x[..., None, None], (h[..., None, None], c[..., None, None]))
    for a, b in zip(ours, expected):
        torch.testing.assert_close(a[..., 0, 0], b)


@pytest.mark.parametrize("forget_gate", [True, False])
def test_zero_peepholes_equal_the_form_without(forget_gate):
    with_peep = make_cell("shi" if forget_gate else "source_peephole")
    without = make_cell("keras" if forget_gate else "source")
    with torch.no_grad():
        for name, parameter in with_peep.named_parameters():
            if name.startswith("weight_c"):
                parameter.zero_()
            else:
                parameter.copy_(getattr(without, name))
    x, h, c = randn(B, C_IN, H, W), randn(B, C_H, H, W, seed=3), randn(B, C_H, H, W, seed=4)
    for a, b in zip(with_peep(x, (h, c)), without(x, (h, c))):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("kernel", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("size", [(7, 7), (6, 9)])
def test_odd_and_even_kernels_keep_the_spatial_size(kernel, size):
    cell = ConvLSTMCell(2, 3, kernel)
    state = None
    for _ in range(3):
        state = cell(torch.zeros(1, 2, *size), state)
        assert state[0].shape == state[1].shape == (1, 3, *size)


@pytest.mark.parametrize("stride, expected", [(2, (4, 5)), ((1, 3), (7, 3))])
def test_stride_shrinks_on_the_input_side_and_the_state_never_shrinks(stride, expected):
    cell = ConvLSTMCell(2, 3, 3, stride=stride)
    state = None
    for _ in range(4):
        state = cell(torch.randn(1, 2, 7, 9), state)
        assert state[0].shape == (1, 3, *expected)  # the same size after every step
    layer = ConvLSTM(2, [3, 4], 3, num_layers=2, stride=[2, 2])
    output, (h_n, c_n) = layer(torch.randn(5, 1, 2, 16, 16))
    assert output.shape == (5, 1, 4, 4, 4) and h_n[0].shape == (1, 3, 8, 8) and c_n[1].shape == (1, 4, 4, 4)


def test_a_state_of_the_wrong_size_is_refused():
    cell = ConvLSTMCell(2, 3, 3, stride=2)
    with pytest.raises(ValueError, match=r"spatial size \(4, 5\)"):
        cell(torch.zeros(1, 2, 7, 9), (torch.zeros(1, 3, 7, 9), torch.zeros(1, 3, 7, 9)))


@pytest.mark.parametrize("form", FORMS)
def test_layer_over_time_matches_the_oracle_and_batch_first(form):
    torch.manual_seed(0)
    layer = ConvLSTM(C_IN, [C_H, 2], 3, num_layers=2, spatial_size=(H, W), dtype=torch.float64, **FORMS[form])
    x = randn(4, B, C_IN, H, W)
    output, (h_n, c_n) = layer(x)
    inputs = x
    for l, cell in enumerate(layer.cells):
        params = dict(cell.named_parameters())
        state = (torch.zeros(B, cell.hidden_channels, H, W, dtype=torch.float64),) * 2
        outs = []
        for x_t in inputs:
            state = oracle_step(x_t, state, params, **FORMS[form])
            outs.append(state[0])
        inputs = torch.stack(outs)
        torch.testing.assert_close(h_n[l], state[0])
        torch.testing.assert_close(c_n[l], state[1])
    torch.testing.assert_close(output, inputs)
    layer.batch_first = True
    bf_output, (bf_h, _) = layer(x.transpose(0, 1))
    torch.testing.assert_close(bf_output, output.transpose(0, 1))
    torch.testing.assert_close(bf_h[1], h_n[1])


def test_states_carry_over_like_an_encoder_and_a_forecaster():
    torch.manual_seed(0)
    layer = ConvLSTM(1, 3, 3, num_layers=2, dtype=torch.float64)
    x = randn(6, 2, 1, 8, 8)
    whole, (h_whole, c_whole) = layer(x)
    first, state = layer(x[:3])
    second, (h_n, c_n) = layer(x[3:], state)
    torch.testing.assert_close(torch.cat([first, second]), whole)
    # a stacked (L, B, C, H, W) tensor is accepted as well
    stacked = (torch.stack(state[0]), torch.stack(state[1]))
    torch.testing.assert_close(layer(x[3:], stacked)[0], second)
    torch.testing.assert_close(c_n[0], c_whole[0])


@pytest.mark.parametrize("form", FORMS)
def test_gradcheck(form):
    torch.manual_seed(0)
    cell = ConvLSTMCell(2, 2, 2, spatial_size=(3, 4), hidden_kernel_size=3, dtype=torch.float64, **FORMS[form])
    names, params = zip(*cell.named_parameters())
    x = randn(1, 2, 3, 4).requires_grad_()
    h, c = randn(1, 2, 3, 4, seed=3).requires_grad_(), randn(1, 2, 3, 4, seed=4).requires_grad_()

    def run(x, h, c, *weights):
        given = dict(zip(names, weights))
        peepholes = {k: v for k, v in given.items() if k.startswith("weight_c")}
        return conv_lstm_step(x, (h, c), given["weight_ih"], given["weight_hh"], given["bias"],
                              stride=1, **FORMS[form], **peepholes)

    assert torch.autograd.gradcheck(run, (x, h, c, *[p.detach().requires_grad_() for p in params]))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", ["keras", "shi"])
def test_devices_and_dtypes(device, dtype, form):
    layer = ConvLSTM(1, 2, 3, num_layers=2, spatial_size=(6, 6), device=device, dtype=dtype, **FORMS[form])
    x = torch.zeros(3, 2, 1, 6, 6, device=device, dtype=dtype)
    output, (h_n, c_n) = layer(x)
    assert output.shape == (3, 2, 2, 6, 6) and output.device.type == torch.device(device).type
    assert output.dtype == h_n[0].dtype == dtype


@pytest.mark.parametrize("kernel, channels", [(3, 64), (5, 64), (1, 8)])
def test_parameter_count_is_shis_formula_independent_of_the_image(kernel, channels):
    cell = ConvLSTMCell(1, channels, kernel)
    expected = 4 * (kernel ** 2 * 1 * channels + kernel ** 2 * channels ** 2 + channels)
    assert sum(p.numel() for p in cell.parameters()) == expected
    peephole = ConvLSTMCell(1, channels, kernel, peephole=True, spatial_size=(16, 16))
    assert sum(p.numel() for p in peephole.parameters()) == expected + 3 * channels * 16 * 16


@pytest.mark.parametrize("build, message", [
    (lambda: ConvLSTMCell(1, 2, 3, peephole=True), "needs spatial_size"),
    (lambda: ConvLSTMCell(1, 2, 0), "kernel_size"),
    (lambda: ConvLSTMCell(0, 2, 3), "in_channels"),
    (lambda: ConvLSTMCell(1, 2, 3)(torch.zeros(1, 2, 4, 4)), r"\(B, 1, H, W\)"),
    (lambda: ConvLSTMCell(1, 2, 3, peephole=True, spatial_size=4)(torch.zeros(1, 1, 5, 5)), "one weight per"),
    (lambda: ConvLSTM(1, 2, 3)(torch.zeros(2, 1, 4, 4)), "5D|shape"),
    (lambda: ConvLSTM(1, [2, 3], 3, num_layers=3), "one per layer"),
])
def test_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_dtype_mismatch_is_a_type_error():
    with pytest.raises(TypeError, match="dtype"):
        ConvLSTMCell(1, 2, 3)(torch.zeros(1, 1, 4, 4, dtype=torch.float64))
