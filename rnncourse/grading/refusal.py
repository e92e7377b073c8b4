"""Refusing what a part forbids, where every path to it meets: the operator dispatcher.

:func:`install` (for good, in the verification sandbox, before any student code runs) and
:func:`forbid` (a ``with`` block, in the student's notebook) refuse the capabilities of
:mod:`~rnncourse.grading.forbidden` in four layers:

1. **the dispatcher**: a ``torch.library.Library("aten", "IMPL")`` registers a refusing kernel for
   every overload of every aten operator of the capability, for the keys ``CompositeImplicitAutograd``,
   ``CompositeExplicitAutograd``, ``CPU``, ``CUDA`` and ``Autograd`` (those an operator does not take
   are skipped). Whatever the route (``torch.ops.aten.lstm_cell.default``, ``torch._VF``,
   ``torch.nn.modules.rnn.LSTMCell``, TorchScript, torch-function handling disabled, vmap), the
   call reaches one of these kernels. The same operators' Python decompositions (``torch._decomp``'s
   tables, ``torch._refs``), built from basic operators and so never reaching those kernels, are
   replaced by refusals too;
2. **autograd's C++ counters** (:class:`AutogradWatch`): every autograd node takes a sequence number
   and every graph the engine runs a graph-task id, both from counters a Python program cannot
   reset. Read before and after each call of the part, they show whether autograd recorded or ran
   anything, whichever way it was reached (an engine reference found elsewhere, a node called by
   hand); forward-mode AD needs ``aten::_make_dual``, refused at the dispatcher;
3. **Python names** replaced by a refusal and a torch function mode, for a message that names what
   the student wrote;
4. :meth:`Guard.problems`, called after the part returns: a registration, mode or replaced name
   that is gone or replaced means the student's code removed a guard, and the part scores zero.

This file imports only torch and :mod:`forbidden`; it is copied into the sandboxes (where the
``rnncourse`` package is not visible) beside ``forbidden.py``.
"""
from __future__ import annotations

import contextlib
import importlib
import warnings

try:  # inside the package
    from .forbidden import Capability, resolve
except ImportError:  # copied into a sandbox as a top-level module
    from forbidden import Capability, resolve  # type: ignore[no-redef]

#: Every refusal's message contains this, so that one re-raised by TorchScript as a RuntimeError is still recognised.
MARK = "[refused by the grader]"

#: The dispatch keys a refusing kernel is registered for (each where the operator allows it).
KEYS = ("CompositeImplicitAutograd", "CompositeExplicitAutograd", "CPU", "CUDA", "Autograd")


class ForbiddenCall(Exception):
    """Raised when a solution uses something its part does not allow."""


def message(part: str, what: str) -> str:
    return (f"{part} may not use {what} {MARK}: this part asks you to compute it yourself with basic tensor "
            f"operations (matmul, tanh, sigmoid, sum, ...).")


def is_refusal(error: BaseException) -> bool:
    return isinstance(error, ForbiddenCall) or MARK in str(error)


# -- layer 1: the dispatcher ---------------------------------------------------------------------

class _Probe(Exception):
    """What a refusing kernel raises when the grader's own probe reaches it."""


class DispatcherRefusal:
    """Refusing kernels for every overload of the capabilities' aten operators, until :meth:`remove`."""

    def __init__(self, capabilities: tuple[Capability, ...], part: str) -> None:
        import torch
        from torch.library import Library

        self._torch = torch
        self.library = Library("aten", "IMPL")
        self.registered: dict[str, list[str]] = {}   # "lstm.input" -> keys
        self._sentinel = torch.empty(0)
        self._expected: dict[str, str] = {}
        sentinel = self._sentinel
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Overriding a previously registered kernel": that is the point
            for capability in capabilities:
                def refuse(*args, _what=capability.description, **kwargs):
                    if any(arg is sentinel for arg in args):
                        raise _Probe()
                    raise ForbiddenCall(message(part, _what))

                for op in capability.aten_ops:
                    for overload in self._overloads(op):
                        if overload in self.registered:
                            continue
                        keys = []
                        for key in KEYS:
                            try:
                                self.library.impl(overload, refuse, key)
                                keys.append(key)
                            except RuntimeError:
                                pass  # a key this operator cannot take (e.g. Composite and backend at once)
                        self.registered[overload] = keys
        self._expected = {overload: self._table(overload) for overload in self.registered}

    def _overloads(self, op: str) -> list[str]:
        try:
            packet = getattr(self._torch.ops.aten, op)
        except (AttributeError, RuntimeError):
            return []  # not in this build of torch
        return [op if name == "default" else f"{op}.{name}" for name in packet.overloads()]

    def _table(self, overload: str) -> str:
        """The lines of the dispatcher's table for this operator's keys that we registered."""
        dump = self._torch._C._dispatch_dump(f"aten::{overload}")
        keys = self.registered[overload]
        return "\n".join(line for line in dump.splitlines()
                         if line.split("[")[0].split(":")[0].strip() in keys)

    def _probe(self, overload: str) -> bool:
        """Whether a call of ``overload`` with the grader's sentinel still reaches a refusing kernel."""
        torch = self._torch
        name, _, variant = overload.partition(".")
        op = getattr(getattr(torch.ops.aten, name), variant or "default")
        arguments, first = [], True
        for argument in op._schema.arguments:
            if argument.kwarg_only:
                continue
            kind = str(argument.type)
            if kind == "Tensor":
                arguments.append(self._sentinel if first else torch.empty(0))
                first = False
            elif kind.endswith("?"):
                arguments.append(None)
            elif kind == "Tensor[]":
                arguments.append([torch.empty(0)])
            elif kind in ("int", "SymInt"):
                arguments.append(1)
            elif kind == "float":
                arguments.append(0.1)
            elif kind == "bool":
                arguments.append(False)
            elif kind.startswith(("int[", "SymInt[")):
                arguments.append([1])
            elif kind == "Scalar":
                arguments.append(0)
            else:
                return True  # an argument type the probe cannot make; the table check still covers it
        if first:
            return True
        try:
            op(*arguments)
        except _Probe:
            return True
        except Exception:  # noqa: BLE001 - a real kernel ran (and failed on the probe's empty tensors)
            return False
        return False

    def problems(self) -> list[str]:
        found = []
        for overload in self.registered:
            if self._table(overload) != self._expected[overload] or not self._probe(overload):
                found.append(f"the grader's refusal of aten::{overload} was removed or overridden")
        return found

    def remove(self) -> None:
        self.library._destroy()


# -- layer 2: autograd's own counters ------------------------------------------------------------

class AutogradWatch:
    """Whether autograd recorded a node or ran a graph between :meth:`mark` and :meth:`used`."""

    def __init__(self) -> None:
        import torch

        self._torch = torch
        self._engine = torch.autograd.variable.Variable._execution_engine  # taken before anyone replaces it
        first = self._counters()
        second = self._counters()
        self._cost = (second[0] - first[0], second[1] - first[1])  # what reading the counters itself adds
        self._mark = self._counters()

    def _counters(self) -> tuple[int, int]:
        torch = self._torch
        seen = []
        with torch.enable_grad():
            leaf = torch.zeros(1, requires_grad=True)
            node = leaf * 1.0
            node.register_hook(lambda grad: seen.append(torch._C._current_graph_task_id()) or grad)
            self._engine.run_backward((node,), (torch.ones(1),), False, False, (), True, True)
            return node.grad_fn._sequence_nr(), seen[0]

    def mark(self) -> None:
        self._mark = self._counters()

    def used(self) -> str | None:
        now = self._counters()
        nodes, graphs = now[0] - self._mark[0] - self._cost[0], now[1] - self._mark[1] - self._cost[1]
        if graphs > 0:
            return f"autograd's engine ran {graphs} backward pass(es)"
        if nodes > 0:
            return f"autograd recorded {nodes} operation(s) for differentiation"
        return None


# -- layer 3: Python names -----------------------------------------------------------------------

def _owner(dotted: str):
    """``"torch.nn.RNNCell"`` -> ``(torch.nn, "RNNCell")``; ``"torch.Tensor.backward"`` -> ``(Tensor, "backward")``."""
    path, _, attribute = dotted.rpartition(".")
    names = path.split(".")
    owner = importlib.import_module(names[0])
    for index, name in enumerate(names[1:], start=1):
        try:
            owner = getattr(owner, name)
        except AttributeError:
            owner = importlib.import_module(".".join(names[: index + 1]))
    return owner, attribute


def _refusal(dotted: str, part: str):
    def refuse(*args, **kwargs):
        raise ForbiddenCall(message(part, dotted))

    refuse.__name__ = dotted.rpartition(".")[2]
    return refuse


def _replace(names, part: str) -> list:
    """Replace each dotted name with a refusal; return ``(owner, attribute, original, refusal)`` for each.

    A name whose module cannot be imported here is skipped: in the sandbox ``rnncourse`` cannot be
    imported at all, which is a stronger refusal than this one.
    """
    replaced = []
    for dotted in names:
        try:
            owner, attribute = _owner(dotted)
        except (ImportError, AttributeError):
            continue
        if hasattr(owner, attribute):
            refusal = _refusal(dotted, part)
            try:
                original = getattr(owner, attribute)
                setattr(owner, attribute, refusal)
            except (AttributeError, TypeError):
                continue  # an immutable C type; the dispatcher covers it
            replaced.append((owner, attribute, original, refusal))
    return replaced


def _function_refuser(names, part: str):
    """A torch function mode refusing every torch function whose name ends one of ``names``."""
    from torch.overrides import TorchFunctionMode

    refused = {dotted.rpartition(".")[2]: dotted for dotted in names}

    class RefuseFunctions(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if name in refused:
                raise ForbiddenCall(message(part, refused[name]))
            return func(*args, **(kwargs or {}))

    return RefuseFunctions()


def _refuse_decompositions(capabilities, part: str) -> list:
    """Refuse the refused operators' Python decompositions too (``torch._decomp``'s tables and the same
    functions under their module names in ``torch._decomp`` and ``torch._refs``): built from basic
    operators, they compute a forbidden cell or normalization without meeting the dispatcher.
    Returns ``[(namespace, key, original, refusal)]`` for :class:`Guard` to check and undo."""
    import sys

    import torch
    import torch._decomp as decomp

    replaced = []
    tables = [table for table in (getattr(decomp, name, None) for name in
                                  ("decomposition_table", "pre_autograd_decomposition_table", "meta_table"))
              if isinstance(table, dict)]
    for capability in capabilities:
        def refuse(*args, _what=capability.description, **kwargs):
            raise ForbiddenCall(message(part, _what))

        overloads = set()
        for op in capability.aten_ops:
            packet = getattr(torch.ops.aten, op, None) if hasattr(torch.ops.aten, op) else None
            for name in (packet.overloads() if packet is not None else []):
                overloads.add(getattr(packet, name))
        originals = []
        for table in tables:
            for overload in [key for key in table if key in overloads]:
                originals.append(table[overload])
                replaced.append((table, overload, table[overload], refuse))
                table[overload] = refuse
        # A decomposition is registered wrapped: the whole chain of wrappers is the same function.
        chain = set()
        for function in originals:
            while callable(function) and id(function) not in chain:
                chain.add(id(function))
                function = getattr(function, "__wrapped__", None)
        for module in list(sys.modules.values()):
            if not getattr(module, "__name__", "").startswith(("torch._decomp", "torch._refs")):
                continue
            namespace = vars(module)
            for attribute, value in list(namespace.items()):
                if callable(value) and (id(value) in chain or id(getattr(value, "__wrapped__", None)) in chain):
                    replaced.append((namespace, attribute, value, refuse))
                    namespace[attribute] = refuse
    return replaced


# -- the guard as a whole ------------------------------------------------------------------------

class Guard:
    """Everything that refuses one part's forbidden computations in this process."""

    def __init__(self, forbidden, part: str) -> None:
        capabilities, names = resolve(forbidden)
        self.part = part
        self.dispatcher = DispatcherRefusal(capabilities, part) if any(c.aten_ops for c in capabilities) else None
        self.decompositions = _refuse_decompositions(capabilities, part) if self.dispatcher is not None else []
        detectors = {d for c in capabilities for d in c.detectors}
        self.watch = AutogradWatch() if detectors else None
        self.replaced = _replace(names, part)
        self.mode = _function_refuser(names, part) if names else None
        if self.mode is not None:
            self.mode.__enter__()

    def mark(self) -> None:
        """Start watching autograd (before each call of the part's function)."""
        if self.watch is not None:
            self.watch.mark()

    def autograd_used(self) -> str | None:
        """Why the call since :meth:`mark` used autograd, or ``None``."""
        if self.watch is None:
            return None
        used = self.watch.used()
        return f"{self.part} may not use autograd {MARK}: {used}" if used else None

    def problems(self) -> list[str]:
        """The guards the student's code removed; ``[]`` when all are in place."""
        from torch.overrides import _get_current_function_mode_stack

        found = self.dispatcher.problems() if self.dispatcher is not None else []
        for namespace, key, _, refusal in self.decompositions:
            if namespace.get(key) is not refusal:
                found.append(f"the grader's refusal of the decomposition {key} was replaced")
        for owner, attribute, _, refusal in self.replaced:
            if getattr(owner, attribute, None) is not refusal:
                found.append(f"the grader's refusal of {getattr(owner, '__name__', owner)}.{attribute} was replaced")
        if self.mode is not None and self.mode not in _get_current_function_mode_stack():
            found.append("the grader's torch function mode was removed")
        return found

    def remove(self) -> None:
        if self.mode is not None:
            self.mode.__exit__(None, None, None)
        for owner, attribute, original, _ in reversed(self.replaced):
            setattr(owner, attribute, original)
        for namespace, key, original, _ in reversed(self.decompositions):
            namespace[key] = original
        if self.dispatcher is not None:
            self.dispatcher.remove()


def install(forbidden, part: str) -> Guard:
    """Refuse ``forbidden`` for the rest of this process (the verification sandbox's part child)."""
    return Guard(forbidden, part)


@contextlib.contextmanager
def forbid(forbidden, part: str):
    """Within the block, what ``forbidden`` names raises :class:`ForbiddenCall` (the notebook's checks)."""
    guard = Guard(forbidden, part)
    guard.mark()
    try:
        yield guard
        used = guard.autograd_used()
        if used:
            raise ForbiddenCall(used)
    finally:
        guard.remove()
