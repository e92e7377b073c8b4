"""The ``rnncourse`` command: the book's execution cache follows the package, and bad calls explain themselves."""
from pathlib import Path

import pytest

from rnncourse import cli


def make_course(root: Path) -> Path:
    (root / "_config.yml").write_text("title: test\n")
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    (root / "rnncourse").mkdir()
    (root / "rnncourse" / "cells.py").write_text("STEP = 1\n")
    return root


def test_cache_is_kept_while_the_package_is_unchanged(tmp_path):
    root = make_course(tmp_path)
    cache = root / "_build" / ".jupyter_cache"
    assert cli.invalidate_stale_cache(root)  # first build: nothing recorded yet
    cache.mkdir(parents=True)
    assert not cli.invalidate_stale_cache(root)
    assert cache.exists()


@pytest.mark.parametrize("change", ["edit", "new file"])
def test_cache_is_dropped_when_the_package_changes(tmp_path, change):
    root = make_course(tmp_path)
    cli.invalidate_stale_cache(root)
    cache = root / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True)
    if change == "edit":
        (root / "rnncourse" / "cells.py").write_text("STEP = 2\n")
    else:
        (root / "rnncourse" / "extra.py").write_text("X = 0\n")
    assert cli.invalidate_stale_cache(root)
    assert not cache.exists()
    assert not cli.invalidate_stale_cache(root)


def test_find_root_walks_up_and_fails_clearly(tmp_path):
    (tmp_path / "course").mkdir()
    root = make_course(tmp_path / "course")
    (root / "book" / "deep").mkdir(parents=True)
    assert cli.find_root(root / "book" / "deep") == root.resolve()
    with pytest.raises(SystemExit, match="no course repository"):
        cli.find_root(tmp_path)


def test_grade_refuses_a_folder_that_is_not_a_course(tmp_path):
    with pytest.raises(SystemExit, match="not an nbgrader course directory"):
        cli.main(["grade", "01_rnn", "--course", str(tmp_path)])


def test_grade_asks_for_the_release_first(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.source_directory = 'solutions'\n")
    (tmp_path / "solutions" / "01_rnn").mkdir(parents=True)
    with pytest.raises(SystemExit, match="no gradebook .* run `nbgrader generate_assignment 01_rnn`"):
        cli.main(["grade", "01_rnn", "--course", str(tmp_path), "--quiet"])


def test_grade_names_an_unknown_assignment(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.source_directory = 'solutions'\n")
    (tmp_path / "solutions").mkdir()
    with pytest.raises(SystemExit, match="no assignment '99_none'"):
        cli.main(["grade", "99_none", "--course", str(tmp_path), "--quiet"])
