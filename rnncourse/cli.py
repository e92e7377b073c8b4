"""The ``rnncourse`` command: build the book, regenerate the student release, grade a class.

    rnncourse build-book            execute and build the book strictly into _build/html
    rnncourse release [ASSIGNMENT]  regenerate exercises/ from solutions/ with nbgrader
    rnncourse grade ASSIGNMENT      autograde with nbgrader, verify every part outside the kernel
    rnncourse bench [OPTIONS]       time the layers against torch.nn (benchmarks/layers.py)
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
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


def page_times(root: Path) -> dict[str, tuple[float, float]]:
    """Each page's last execution, from jupyter-cache's database: ``{page: (seconds, when executed)}``."""
    import sqlite3
    from datetime import datetime, timezone

    database = root / "_build" / ".jupyter_cache" / "global.db"
    if not database.exists():
        return {}
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        records = connection.execute("SELECT uri, data, created FROM nbcache").fetchall()
    times = {}
    for uri, data, created in records:
        page = Path(uri).resolve()
        name = str(page.relative_to(root)) if page.is_relative_to(root) else uri
        when = datetime.fromisoformat(created).replace(tzinfo=timezone.utc).timestamp()
        times[name] = (float(json.loads(data or "{}").get("execution_seconds") or 0.0), when)
    return times


def write_build_report(root: Path, path: Path, started: float, seconds: float, status: int) -> str:
    """Record this build in ``_build/build-times.json`` and write the Markdown report to ``path``.

    The report gives this build's total, the latest cold (every page executed) and cached (no page
    executed) totals on record, and every page's execution time, slowest first. Returns the lines
    of the slowest pages, for the terminal.
    """
    pages = page_times(root)
    executed = sorted(name for name, (_, when) in pages.items() if when >= started - 1)
    kind = "cold" if pages and len(executed) == len(pages) else "cached" if not executed else "partial"
    history_file = root / "_build" / "build-times.json"
    history = json.loads(history_file.read_text()) if history_file.exists() else []
    history.append({"finished": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()), "kind": kind,
                    "seconds": round(seconds, 1), "executed": len(executed), "status": status})
    history_file.write_text(json.dumps(history, indent=1))
    latest = {entry["kind"]: entry for entry in history}
    ranked = sorted(pages.items(), key=lambda item: -item[1][0])
    lines = [f"# Book build report ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})", "",
             f"This build: {kind}, {seconds:.1f} s, {len(executed)} of {len(pages)} pages executed, exit status "
             f"{status}.", ""]
    for name in ("cold", "cached"):
        entry = latest.get(name)
        lines.append(f"- latest {name} build: " + (f"{entry['seconds']} s ({entry['finished']} UTC)" if entry else
                                                   "none recorded yet"))
    lines += ["", f"Pages by execution time (sum {sum(s for s, _ in pages.values()):.1f} s; * executed in this "
              f"build, otherwise the time of its last execution):", "", "| page | seconds |", "|---|---:|"]
    lines += [f"| {name}{' *' if name in executed else ''} | {secs:.1f} |" for name, (secs, _) in ranked]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return "\n".join(f"  {secs:7.1f} s  {name}" for name, (secs, _) in ranked[:5])


def positive_int(text: str) -> int:
    """An argument that must be a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value}")
    return value


def build_book(args) -> int:
    root = find_root()
    rebuild = invalidate_stale_cache(root)
    if rebuild:
        print("rnncourse: the package changed since the last build; every page will be executed again")
    started = time.time()
    if args.jobs > 1:  # the pages first, several at a time, into the cache Jupyter Book reads from
        from .bookbuild import execute_pages

        execute_pages(root, workers=args.jobs, log=lambda line: print(line, flush=True))
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book if jupyter_book.exists() else "jupyter-book"), "build", str(root), "-W", "--keep-going"]
    if args.all or rebuild:  # without --all, Sphinx would not even read the unchanged pages again
        command.append("--all")
    print("+", " ".join(command), flush=True)
    status = subprocess.call(command, cwd=root)
    if args.report:
        report = root / args.report
        slowest = write_build_report(root, report, started, time.time() - started, status)
        print(f"rnncourse: build report in {report}; the slowest pages:\n{slowest}")
    return status


def bench(args) -> int:
    """Run ``benchmarks/layers.py`` of the course repository with the remaining arguments."""
    script = find_root() / "benchmarks" / "layers.py"
    spec = importlib.util.spec_from_file_location("rnncourse_bench_layers", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(args.options)


def release(args) -> int:
    from .grading.course import assignments, nbgrader

    root = find_root()
    for assignment in args.assignments or assignments(root):
        nbgrader(root, "generate_assignment", assignment, "--force")
        print(f"exercises/{assignment} regenerated from solutions/{assignment}")
    return 0


def grade(args) -> int:
    from .grading.bubblewrap import SandboxUnavailable
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
                                  export=None if args.no_export else args.export, progress=not args.quiet,
                                  sandbox=not args.no_sandbox)
    except (ValueError, SandboxUnavailable) as error:
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
    book.add_argument("--report", nargs="?", const="_build/build-report.md", default=None, metavar="FILE",
                      help="write each page's execution time and the cold/cached build totals to FILE "
                           "(default _build/build-report.md) and print the slowest pages")
    book.add_argument("--jobs", "-j", type=positive_int, default=min(os.cpu_count() or 1, 4), metavar="N",
                      help="execute N pages at a time before the build (default: the CPU count, at most 4; "
                           "1 leaves execution to Jupyter Book, one page after another)")
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
    gr.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell in nbgrader's run (a cell past it "
                    "is run once more), and the most CPU time a cell may take in the verification sandbox")
    gr.add_argument("--part-timeout", type=float, default=60, help="CPU seconds per graded part in the verification "
                    "sandbox (a part past it is run once more)")
    gr.add_argument("--no-sandbox", action="store_true", help="grade even where bubblewrap cannot start: student code "
                    "then runs with YOUR rights, behind Python-level guards only (unsafe; see the README)")
    gr.add_argument("--memory-gb", type=float, default=2, help="memory a graded part may allocate, in GiB")
    gr.add_argument("--export", default="grades.csv", help="CSV file for nbgrader's export (default: grades.csv)")
    gr.add_argument("--no-export", action="store_true", help="do not export grades")
    gr.add_argument("--no-feedback", action="store_true", help="do not generate feedback")
    gr.add_argument("--quiet", action="store_true", help="no progress bar")
    gr.set_defaults(run=grade)

    be = commands.add_parser("bench", help="time the layers (forward, forward+backward) against torch.nn",
                             add_help=False)
    be.set_defaults(run=bench)  # every option goes to benchmarks/layers.py: `rnncourse bench --help` lists them

    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":
        args.options = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
