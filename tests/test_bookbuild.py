"""``rnncourse build-book`` executes the pages several at a time into the cache that Jupyter Book reads."""
from pathlib import Path

import pytest

from helpers import NOTEBOOK_FRONT_MATTER
from rnncourse import bookbuild

PAGE = NOTEBOOK_FRONT_MATTER + """
# {title}

```{{code-cell}} ipython3
import os
from pathlib import Path
print("{title}", os.environ["OMP_NUM_THREADS"], Path.cwd().name)
{extra}
```
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("book")
    (root / "_config.yml").write_text("execute:\n  execute_notebooks: cache\n  cache: _build/.jupyter_cache\n"
                                      "  timeout: 60\nparse:\n  myst_enable_extensions: [dollarmath]\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: part/one\n- file: part/two\n"
                                   "- file: part/broken\n")
    (root / "intro.md").write_text("# A page that is not a notebook\n")
    (root / "part").mkdir()
    (root / "part" / "one.md").write_text(PAGE.format(title="one", extra=""))
    (root / "part" / "two.md").write_text(PAGE.format(title="two", extra=""))
    (root / "part" / "broken.md").write_text(PAGE.format(title="broken", extra="raise ValueError('on purpose')"))
    lines = []
    executed = bookbuild.execute_pages(root, workers=2, log=lines.append)
    return root, executed, lines


def test_only_notebooks_of_the_table_of_contents_are_pages(book):
    root, _, _ = book
    assert [path.relative_to(root).as_posix() for path, _ in bookbuild.notebook_pages(root)] == [
        "part/one.md", "part/two.md", "part/broken.md"]


def test_executed_pages_are_found_in_the_cache_as_myst_nb_looks_them_up(book):
    from jupyter_cache import get_cache

    root, executed, _ = book
    assert sorted(executed) == ["part/one.md", "part/two.md"]
    cache = get_cache(str(root / "_build" / ".jupyter_cache"))
    pages = dict((path.name, notebook) for path, notebook in bookbuild.notebook_pages(root))
    for name in ("one.md", "two.md"):
        _, merged = cache.merge_match_into_notebook(pages[name])
        output = next(cell for cell in merged.cells if cell.cell_type == "code").outputs[0]["text"]
        # two workers on this machine's cores: each kernel gets its share of threads, in its page's folder
        assert output.split() == [name[:-3], str(max(1, (__import__("os").cpu_count() or 1) // 2)), "part"]
    assert set((root / bookbuild.PAGE_TIMES).read_text().split('"')[1::2]) >= {"part/one.md", "part/two.md"}


def test_a_failing_page_is_left_to_the_strict_build_and_named(book):
    from jupyter_cache import get_cache

    root, _, lines = book
    cache = get_cache(str(root / "_build" / ".jupyter_cache"))
    broken = dict((path.name, notebook) for path, notebook in bookbuild.notebook_pages(root))["broken.md"]
    with pytest.raises(KeyError):
        cache.match_cache_notebook(broken)
    assert any("failed" in line and "part/broken.md" in line for line in lines), lines


def test_a_second_run_executes_nothing(book):
    root, _, _ = book
    assert bookbuild.execute_pages(root, workers=2, log=lambda line: None) == {}
