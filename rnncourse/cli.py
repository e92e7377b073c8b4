"""The ``rnncourse`` command: build the book, regenerate the student release, grade a class.

    rnncourse build-book            execute and build the book strictly into _build/html
    rnncourse release [ASSIGNMENT]  regenerate exercises/ from solutions/ with nbgrader
    rnncourse grade ASSIGNMENT      autograde with nbgrader, verify every part outside the kernel
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path


def find_root(start: Path | None = None) -> Path:
    """The course repository: the nearest folder upward holding ``_config.yml`` and ``nbgrader_config.py``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").exists() and (folder / "nbgrader_config.py").exists():
            return folder
    raise SystemExit(f"rnncourse: no course repository (with _config.yml and nbgrader_config.py) at or above {here}")


def package_fingerprint(package_dir: Path) -> str:
    """A hash of every source file of the package: the pages' results depend on it."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(str(path.relative_to(package_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def invalidate_stale_cache(root: Path) -> bool:
    """Drop the execution cache when ``rnncourse/`` changed since it was filled; return whether it was dropped.

    jupyter-cache keys a page on its own code cells only, so a change in the package the pages
    import would otherwise reuse outputs computed by the old code.
    """
    cache = root / "_build" / ".jupyter_cache"
    stamp = root / "_build" / "rnncourse.fingerprint"
    fingerprint = package_fingerprint(root / "rnncourse")
    stale = not stamp.exists() or stamp.read_text() != fingerprint
    if stale and cache.exists():
        shutil.rmtree(cache)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(fingerprint)
    return stale


def build_book(args) -> int:
    root = find_root()
    if invalidate_stale_cache(root):
        print("rnncourse: the package changed since the last build; every page will be executed again")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book if jupyter_book.exists() else "jupyter-book"), "build", str(root), "-W", "--keep-going"]
    if args.all:
        command.append("--all")
    print("+", " ".join(command), flush=True)
    return subprocess.call(command, cwd=root)


def release(args) -> int:
    from .grading.course import assignments, nbgrader

    root = find_root()
    for assignment in args.assignments or assignments(root):
        nbgrader(root, "generate_assignment", assignment, "--force")
        print(f"exercises/{assignment} regenerated from solutions/{assignment}")
    return 0


def grade(args) -> int:
    from .grading.grade import grade as grade_assignment
    from .grading.verify import Limits

    course = Path(args.course).resolve()
    if not (course / "nbgrader_config.py").exists():
        raise SystemExit(f"rnncourse grade: {course} is not an nbgrader course directory (no nbgrader_config.py)")
    limits = Limits(part_seconds=args.part_timeout, cell_seconds=min(args.cell_timeout, args.part_timeout),
                    memory_bytes=int(args.memory_gb * 1024**3))
    try:
        report = grade_assignment(course, args.assignment, students=args.student or None, workers=args.workers,
                                  force=args.force, limits=limits, cell_timeout=args.cell_timeout,
                                  memory_bytes=int((args.memory_gb + 4) * 1024**3), feedback=not args.no_feedback,
                                  export=None if args.no_export else args.export, progress=not args.quiet)
    except ValueError as error:
        raise SystemExit(f"rnncourse grade: {error}") from None
    caught = sum(1 for entry in report["students"] for part in entry["parts"] if part["nbgrader"] and not part["verified"])
    print(f"{len(report['students'])} submissions of {args.assignment}; {caught} parts lost their points in the "
          f"independent verification; report: {course / 'reports' / args.assignment / 'report.md'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rnncourse", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    book = commands.add_parser("build-book", help="execute every page and build the HTML book into _build/html")
    book.add_argument("--all", action="store_true", help="rebuild every page, not only the changed ones")
    book.set_defaults(run=build_book)

    rel = commands.add_parser("release", help="regenerate exercises/ from solutions/ with nbgrader")
    rel.add_argument("assignments", nargs="*", help="assignment folders (default: all)")
    rel.set_defaults(run=release)

    gr = commands.add_parser("grade", help="autograde an assignment with nbgrader and verify every part outside "
                                           "the student's kernel")
    gr.add_argument("assignment", help="the assignment folder, e.g. 01_rnn")
    gr.add_argument("--course", default=".", help="the nbgrader course directory (default: the current folder)")
    gr.add_argument("--student", action="append", help="grade only this student (repeatable)")
    gr.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: all cores)")
    gr.add_argument("--force", action="store_true", help="grade again submissions already graded and unchanged")
    gr.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell in nbgrader's run, and the most a cell may take in the sandbox")
    gr.add_argument("--part-timeout", type=float, default=60, help="seconds per graded part in the sandbox")
    gr.add_argument("--memory-gb", type=float, default=2, help="memory a graded part may allocate, in GiB")
    gr.add_argument("--export", default="grades.csv", help="CSV file for nbgrader's export (default: grades.csv)")
    gr.add_argument("--no-export", action="store_true", help="do not export grades")
    gr.add_argument("--no-feedback", action="store_true", help="do not generate feedback")
    gr.add_argument("--quiet", action="store_true", help="no progress bar")
    gr.set_defaults(run=grade)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
