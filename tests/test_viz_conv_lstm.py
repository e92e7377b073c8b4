"""rnncourse.viz.conv_lstm: the ConvLSTM cell in its three forms and Shi et al.'s encoding-forecasting
structure carry their labels, and no two labels overlap."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot: no window, the same pixels on every machine

import pytest  # noqa: E402

from rnncourse import viz  # noqa: E402

from helpers import texts  # noqa: E402

pytestmark = pytest.mark.usefixtures("close_figures")
CONV, TIMES = r"$\ast$", r"$\odot$"
PEEPHOLES = (r"$W_{ci} \odot$", r"$W_{cf} \odot$", r"$W_{co} \odot$")


def overlapping_texts(ax) -> list[tuple[str, str]]:
    """Pairs of non-empty texts on ``ax`` whose rendered boxes intersect."""
    figure = ax.figure
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_text().strip()]
    return [(a, b) for k, (a, box_a) in enumerate(boxes) for b, box_b in boxes[k + 1:] if box_a.overlaps(box_b)]


@pytest.mark.parametrize("form", sorted(viz.CONV_LSTM_FORMS))
def test_cell_has_its_gates_convolutions_and_peepholes(form):
    ax = viz.draw_conv_lstm_cell(form)
    drawn = texts(ax)
    gates = 3 if form == "source" else 4
    assert drawn.count(CONV) == gates  # one convolution into each gate layer
    assert drawn.count(r"$\sigma$") == gates - 1 and drawn.count(r"$\tanh$") == 1
    assert (r"$f_t$" in drawn) == (form != "source")
    assert all((label in drawn) == (form == "shi") for label in PEEPHOLES)
    maps = (r"$\mathcal{X}_t$", r"$\mathcal{H}_{t-1}$", r"$\mathcal{C}_{t-1}$", r"$\mathcal{H}_t$", r"$\mathcal{C}_t$")
    assert all(name in drawn for name in maps)
    assert ax.get_title() == viz.CONV_LSTM_FORMS[form]
    assert overlapping_texts(ax) == []


def test_cell_rejects_an_unknown_form():
    with pytest.raises(ValueError, match="'shi'"):
        viz.draw_conv_lstm_cell("peephole")


def test_planes_are_one_rectangle_per_channel():
    ax = viz.new_axes()
    box = viz.draw_planes(ax, 0.0, 0.0, "X", planes=4, width=1.0, height=1.0, step=0.1, kernel=True)
    assert len(ax.patches) == 5  # four planes and the kernel's window
    assert box.width == pytest.approx(1.3) and box.height == pytest.approx(1.3)


@pytest.mark.parametrize("steps_in, steps_out", [(3, 3), (2, 4)])
def test_encoder_forecaster_copies_states_and_reads_out_by_1x1(steps_in, steps_out):
    ax = viz.draw_encoder_forecaster(steps_in=steps_in, steps_out=steps_out)
    drawn = texts(ax)
    assert drawn.count("copy") == 2  # one per layer, from the last encoder step into the forecaster
    assert drawn.count(r"$1{\times}1$") == steps_out
    predictions = [r"$\hat{\mathcal{X}}_{J+%d}$" % (k + 1) for k in range(steps_out)]
    assert [t for t in drawn if t.startswith(r"$\hat{\mathcal{X}}")] == predictions
    assert r"$\mathcal{X}_J$" in drawn and "encoding network" in drawn
    assert overlapping_texts(ax) == []


def test_encoder_forecaster_needs_two_steps_each_side():
    with pytest.raises(ValueError, match="steps_out"):
        viz.draw_encoder_forecaster(steps_out=1)
