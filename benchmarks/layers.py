"""Benchmark: the course's layers against torch.nn, forward and forward+backward, side by side in one run.

For every model (Elman, every LSTM variant, the GRU in both conventions, the MGU) it times our layer
with its default implementation (torch's kernel where torch has the model, the fast path elsewhere),
optionally the reference path, and torch.nn's layer where torch has the model. All candidates of
a device are timed round-robin in one process, so that a change in the machine's load hits all of
them alike: on a shared machine the ratios are what to read, not the times. Reported: the median
time, the ratio to torch (or, for a model torch lacks, to the standard LSTM's time on our default
path) and the achieved GFLOP/s against a matrix-product ceiling measured on the same device.

    rnncourse bench                                   # defaults: T=100, B=32, I=128, H=256, CPU (+ CUDA)
    rnncourse bench --steps 200 --batch 64 --input 512 --hidden 512 --json out.json
    python benchmarks/layers.py --reference           # also time the readable reference path

This is a benchmark, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn
from tqdm import tqdm

import rnncourse

#: (row name, our class, options, gate blocks G, torch's class or None)
MODELS = [
    ("elman", rnncourse.RNN, {}, 1, nn.RNN),
    ("lstm", rnncourse.LSTM, {}, 4, nn.LSTM),
    ("lstm no_forget_gate", rnncourse.LSTM, {"forget_gate": False}, 3, None),
    ("lstm peephole", rnncourse.LSTM, {"peephole": True}, 4, None),
    ("lstm peephole no_forget_gate", rnncourse.LSTM, {"peephole": True, "forget_gate": False}, 3, None),
    ("lstm coupled", rnncourse.LSTM, {"coupled": True}, 3, None),
    ("lstm coupled peephole", rnncourse.LSTM, {"coupled": True, "peephole": True}, 3, None),
    ("gru", rnncourse.GRU, {}, 3, nn.GRU),
    ("gru reset_before", rnncourse.GRU, {"reset_after": False}, 3, None),
    ("mgu", rnncourse.MGU, {}, 2, None),
]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def layer_flops(steps: int, batch: int, inputs: int, hidden: int, gates: int) -> float:
    """Multiply-adds x 2 of one layer's forward pass: the input and hidden products of every gate block."""
    return 2.0 * steps * batch * gates * hidden * (inputs + hidden)


def matmul_ceiling(device: torch.device, dtype: torch.dtype, size: int = 1024, repeats: int = 5) -> float:
    """The GFLOP/s of a large square matrix product on ``device``: what the hardware gives a dense kernel."""
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    times = []
    for _ in range(repeats + 1):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        times.append(time.perf_counter() - start)
    return 2.0 * size**3 / statistics.median(times[1:]) / 1e9


def candidates(args, device: torch.device, dtype: torch.dtype):
    """``(model, implementation, module, G)`` for every layer timed on ``device``."""
    out = []
    for name, cls, options, gates, reference in MODELS:
        if args.only and not any(word in name for word in args.only):
            continue
        ours = cls(args.input, args.hidden, args.layers, device=device, dtype=dtype, **options)
        out.append((name, f"rnncourse ({ours.path(device.type)})", ours, gates))
        if name == "lstm":  # the fast path of the standard LSTM, for the variants' ratios
            fast = cls(args.input, args.hidden, args.layers, device=device, dtype=dtype, implementation="fast")
            out.append((name, "rnncourse (fast)", fast, gates))
        if args.reference:
            slow = cls(args.input, args.hidden, args.layers, device=device, dtype=dtype, implementation="reference",
                       **options)
            out.append((name, "rnncourse (reference)", slow, gates))
        if reference is not None:
            out.append((name, "torch.nn", reference(args.input, args.hidden, args.layers, device=device, dtype=dtype),
                        gates))
    return out


def time_once(module: nn.Module, x: torch.Tensor, backward: bool, device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    if backward:
        output, _ = module(x)
        output.sum().backward()
    else:
        with torch.no_grad():
            module(x)
    synchronize(device)
    return time.perf_counter() - start


def bench_device(args, device: torch.device, dtype: torch.dtype) -> list[dict]:
    ceiling = matmul_ceiling(device, dtype)
    x = torch.randn(args.steps, args.batch, args.input, device=device, dtype=dtype)
    runs = candidates(args, device, dtype)
    rows = []
    for backward in (False, True):
        times = {index: [] for index in range(len(runs))}
        rounds = args.repeats + 1  # the first round warms up and is discarded
        bar = tqdm(total=rounds * len(runs), desc=f"{device.type} {'fwd+bwd' if backward else 'forward'}",
                   unit="run", disable=args.quiet, file=sys.stderr)
        for round_ in range(rounds):
            order = list(range(len(runs)))
            if round_ % 2:  # alternate the order so that no candidate always runs after the same one
                order.reverse()
            for index in order:
                elapsed = time_once(runs[index][2], x, backward, device)
                if round_:
                    times[index].append(elapsed)
                bar.update()
        bar.close()
        for index, (name, implementation, module, gates) in enumerate(runs):
            median = statistics.median(times[index])
            flops = layer_flops(args.steps, args.batch, args.input, args.hidden, gates)
            flops += layer_flops(args.steps, args.batch, args.hidden, args.hidden, gates) * (args.layers - 1)
            flops *= 3 if backward else 1  # the backward pass costs two products per forward product
            rows.append({"device": device.type, "phase": "fwd+bwd" if backward else "forward", "model": name,
                         "implementation": implementation, "median_ms": median * 1e3,
                         "gflops": flops / median / 1e9, "ceiling_gflops": ceiling})
    add_ratios(rows)
    return rows


def add_ratios(rows: list[dict]) -> None:
    """Each row's time over torch.nn's for the same model, or over the standard LSTM's (default path
    and forced fast path) for a model torch lacks."""
    def median_of(device, phase, model, implementation):
        for row in rows:
            if (row["device"], row["phase"], row["model"], row["implementation"]) == (device, phase, model,
                                                                                        implementation):
                return row["median_ms"]
        return None

    for row in rows:
        torch_time = median_of(row["device"], row["phase"], row["model"], "torch.nn")
        row["vs_torch"] = None if torch_time is None else row["median_ms"] / torch_time
        lstm_fast = median_of(row["device"], row["phase"], "lstm", "rnncourse (fast)")
        row["vs_lstm_fast"] = None if lstm_fast is None else row["median_ms"] / lstm_fast


def table(rows: list[dict]) -> str:
    def ratio(value):
        return "" if value is None else f"{value:.2f}x"

    lines = ["| device | phase | model | implementation | median ms | vs torch.nn | vs LSTM fast path | GFLOP/s | "
             "% of matmul ceiling |", "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['device']} | {row['phase']} | {row['model']} | {row['implementation']} | "
                     f"{row['median_ms']:.2f} | {ratio(row['vs_torch'])} | {ratio(row['vs_lstm_fast'])} | "
                     f"{row['gflops']:.1f} | {100 * row['gflops'] / row['ceiling_gflops']:.0f}% |")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rnncourse bench", description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=100, help="sequence length T (default 100)")
    p.add_argument("--batch", type=int, default=32, help="batch size B (default 32)")
    p.add_argument("--input", type=int, default=128, help="input features I (default 128)")
    p.add_argument("--hidden", type=int, default=256, help="hidden units H (default 256)")
    p.add_argument("--layers", type=int, default=1, help="stacked layers (default 1)")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds per phase; the median is reported (default 5)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--device", action="append", help="cpu, cuda (repeatable; default: cpu, and cuda when present)")
    p.add_argument("--only", nargs="*", help="time only the models whose name contains one of these words")
    p.add_argument("--reference", action="store_true", help="also time the reference (step-function) path")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", help="also write the rows to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.device or (["cpu"] + (["cuda"] if torch.cuda.is_available() else []))
    dtype = getattr(torch, args.dtype)
    rows = []
    for name in devices:
        rows += bench_device(args, torch.device(name), dtype)
    print(f"T={args.steps} B={args.batch} I={args.input} H={args.hidden} layers={args.layers} {args.dtype}, "
          f"{torch.get_num_threads()} CPU threads, median of {args.repeats} interleaved rounds")
    print(table(rows))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"arguments": vars(args), "torch": torch.__version__, "rows": rows}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
