"""The ``rnncourse`` command: build the book, regenerate the student release, grade a class.

    rnncourse build-book            execute and build the book strictly into _build/html
    rnncourse release [ASSIGNMENT]  regenerate exercises/ from solutions/ with nbgrader
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rnncourse", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    book = commands.add_parser("build-book", help="execute every page and build the HTML book into _build/html")
    book.add_argument("--all", action="store_true", help="rebuild every page, not only the changed ones")
    book.set_defaults(run=build_book)

    rel = commands.add_parser("release", help="regenerate exercises/ from solutions/ with nbgrader")
    rel.add_argument("assignments", nargs="*", help="assignment folders (default: all)")
    rel.set_defaults(run=release)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
