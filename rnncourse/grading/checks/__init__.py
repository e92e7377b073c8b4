"""The checks the exercises' test cells call, one module per exercise topic.

``rnn`` (exercise 01), ``lstm`` (02), ``gru`` (03), and one module for each later topic. A topic
module defines its :class:`~rnncourse.grading.core.Check` objects and lists them in ``CHECKS``;
this package finds every topic module by itself, so adding a topic means adding its file, nothing
else. Every check is an attribute of this package under the name of the function it grades::

    from rnncourse.grading import checks
    checks.elman_step(elman_step)               # visible test: fixed small cases
    checks.elman_step(elman_step, hidden=True)  # hidden test: fresh random sizes and values
"""
from __future__ import annotations

import importlib
import pkgutil
from types import MappingProxyType


def _collect() -> dict:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for check in getattr(module, "CHECKS", ()):
            if check.name in found:
                raise RuntimeError(f"two checks are named {check.name!r}: in {found[check.name][0]} and {info.name}")
            if check.name in globals():
                raise RuntimeError(f"check {check.name!r} in {info.name} hides a name of rnncourse.grading.checks")
            found[check.name] = (info.name, check)
    return found


_FOUND = _collect()

#: Every check by the name of the function it grades.
REGISTRY = MappingProxyType({name: check for name, (_, check) in _FOUND.items()})

#: The topic module of every check, by the check's name (``"elman_step" -> "rnn"``).
TOPIC_OF = MappingProxyType({name: topic for name, (topic, _) in _FOUND.items()})

globals().update(REGISTRY)
del _FOUND

__all__ = ["REGISTRY", "TOPIC_OF", *REGISTRY]
