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


def fake_cache(root: Path, pages: dict[str, tuple[float, str]]) -> None:
    """A jupyter-cache database holding ``{page: (execution seconds, created)}`` as jupyter-cache 1.0 writes it."""
    import json
    import sqlite3

    database = root / "_build" / ".jupyter_cache" / "global.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS nbcache (pk INTEGER PRIMARY KEY, hashkey TEXT, uri TEXT, description TEXT, "
                           "data JSON, created DATETIME, accessed DATETIME)")
        for page, (seconds, created) in pages.items():
            connection.execute("INSERT INTO nbcache (hashkey, uri, description, data, created, accessed) VALUES "
                               "(?, ?, '', ?, ?, ?)", (page, str(root / page), json.dumps({"execution_seconds": seconds}),
                                                      created, created))


def test_build_report_lists_pages_slowest_first_and_keeps_cold_and_cached_totals(tmp_path):
    import time

    root = make_course(tmp_path)
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 5))
    fake_cache(root, {"book/a.md": (3.5, now), "book/b.md": (42.0, now), "book/c.md": (0.5, "2020-01-01 00:00:00")})
    report = root / "_build" / "report.md"
    slowest = cli.write_build_report(root, report, started=time.time() - 10, seconds=60.0, status=0)
    assert slowest.splitlines()[0].split() == ["42.0", "s", "book/b.md"]
    text = report.read_text()
    assert "This build: partial, 60.0 s, 2 of 3 pages executed" in text
    assert text.index("| book/b.md * | 42.0 |") < text.index("| book/a.md * | 3.5 |") < text.index("| book/c.md | 0.5 |")
    cli.write_build_report(root, report, started=time.time() + 3600, seconds=4.0, status=0)
    text = report.read_text()
    assert "This build: cached, 4.0 s, 0 of 3 pages executed" in text
    assert "- latest partial build: 60.0 s" not in text and "- latest cached build: 4.0 s" in text
    fake_cache(root, {"book/c.md": (0.7, now)})  # now every page has run in the build below
    cli.write_build_report(root, report, started=time.time() - 10, seconds=70.0, status=0)
    assert "This build: cold, 70.0 s, 3 of 3 pages executed" in report.read_text()
    assert "- latest cold build: 70.0 s" in report.read_text()


def test_bench_runs_the_layer_benchmark(monkeypatch, capsys):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert cli.main(["bench", "--steps", "3", "--batch", "2", "--input", "3", "--hidden", "4", "--repeats", "1",
                     "--only", "gru", "--device", "cpu", "--quiet"]) == 0
    table = capsys.readouterr().out
    for row in ("| cpu | forward | gru | rnncourse (native) |", "| cpu | fwd+bwd | gru | torch.nn |",
                "| cpu | fwd+bwd | gru reset_before | rnncourse (fast) |"):
        assert row in table


def test_other_commands_refuse_unknown_options():
    with pytest.raises(SystemExit):
        cli.main(["release", "--bogus"])


def test_build_book_reexecutes_every_page_after_a_package_change(tmp_path, monkeypatch):
    """Dropping the cache is not enough: without --all Sphinx would not read the unchanged pages again."""
    root = make_course(tmp_path)
    commands = []
    monkeypatch.setattr(cli.subprocess, "call", lambda command, cwd: commands.append(command) or 0)
    monkeypatch.chdir(root)
    assert cli.main(["build-book"]) == 0 and "--all" in commands[-1]  # nothing recorded yet
    assert cli.main(["build-book", "--report"]) == 0 and "--all" not in commands[-1]
    assert "This build: cached" in (root / "_build" / "build-report.md").read_text()
    (root / "rnncourse" / "cells.py").write_text("STEP = 2\n")
    assert cli.main(["build-book"]) == 0 and "--all" in commands[-1]
