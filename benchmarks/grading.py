"""Benchmark: grading a class, plain ``nbgrader autograde`` against ``rnncourse grade``.

Generates a class of submissions for every assignment (mostly solved, some with the planted
mistake of ``tests/test_exercises.py``, some untouched), then grades two identical copies of the
course: one with plain sequential ``nbgrader autograde ASSIGNMENT``, one with ``rnncourse grade``
(parallel autograde + independent verification). Prints wall times per notebook and in total, and
the verification's share of each notebook's grading time; writes the numbers as JSON.

    .venv/bin/python benchmarks/grading.py --students 30            # the full class
    .venv/bin/python benchmarks/grading.py --students 4 --json out.json

This is a benchmark, not a test: it asserts nothing and takes minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from rnncourse.grading.course import assignments, nbgrader  # noqa: E402
from rnncourse.grading.grade import grade  # noqa: E402
from rnncourse.grading.notebooks import replace_in_cell, solved_release  # noqa: E402
from test_exercises import PLANTED_MISTAKES  # noqa: E402


def make_class(course: Path, students: int, seed: int) -> int:
    """Release every assignment and submit ``students`` notebooks each; return the notebook count."""
    rng = random.Random(seed)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "solutions", course / "solutions")
    count = 0
    for assignment in assignments(course):
        nbgrader(course, "generate_assignment", assignment, "--force")
        for path in sorted((course / "exercises" / assignment).glob("*.ipynb")):
            release = nbformat.read(path, as_version=4)
            solved = solved_release(release, nbformat.read(course / "solutions" / assignment / path.name, as_version=4))
            notebook, cell, old, new, _ = PLANTED_MISTAKES[assignment]
            mistaken = replace_in_cell(solved, cell, old, new) if path.name == notebook else solved
            for index in range(students):
                draw = rng.random()
                chosen = solved if draw < 0.7 else mistaken if draw < 0.9 else release
                folder = course / "submitted" / f"student{index:03d}" / assignment
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(chosen, folder / path.name)
                count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the numbers here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rnncourse-bench-") as scratch:
        plain_course, ours_course = Path(scratch) / "plain", Path(scratch) / "ours"
        plain_course.mkdir()
        notebooks = make_class(plain_course, args.students, args.seed)
        shutil.copytree(plain_course, ours_course)

        start = time.perf_counter()
        for assignment in assignments(plain_course):
            nbgrader(plain_course, "autograde", assignment)
        plain = time.perf_counter() - start

        start = time.perf_counter()
        reports = [grade(ours_course, assignment, workers=args.workers, feedback=False, export=None, progress=True)
                   for assignment in assignments(ours_course)]
        ours = time.perf_counter() - start

    entries = [entry for report in reports for entry in report["students"]]
    autograde = sum(entry["seconds"]["autograde"] for entry in entries)
    verify = sum(entry["seconds"]["verify"] for entry in entries)
    results = {
        "students": args.students, "notebooks": notebooks, "workers": args.workers, "cores": os.cpu_count(),
        "plain_nbgrader_total_s": round(plain, 2), "plain_nbgrader_per_notebook_s": round(plain / notebooks, 3),
        "rnncourse_grade_total_s": round(ours, 2), "rnncourse_grade_per_notebook_s": round(ours / notebooks, 3),
        "autograde_in_rnncourse_per_notebook_s": round(autograde / len(entries), 3),
        "verification_per_notebook_s": round(verify / len(entries), 3),
        "verification_overhead": round(verify / autograde, 3),
        "speedup_vs_plain": round(plain / ours, 2),
    }
    width = max(len(key) for key in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
