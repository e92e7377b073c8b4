"""The book's build configuration is strict: a page whose cell raises fails the build."""
import shutil
import subprocess
import sys
from pathlib import Path

from helpers import NOTEBOOK_FRONT_MATTER

ROOT = Path(__file__).resolve().parents[1]

PAGE = NOTEBOOK_FRONT_MATTER + """
# A page that breaks

```{code-cell} ipython3
raise RuntimeError("this cell fails on purpose")
```
"""


def test_a_failing_cell_fails_the_strict_build(tmp_path):
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(ROOT / "book" / "_ext", tmp_path / "book" / "_ext")  # the configuration loads it
    (tmp_path / "book" / "references.bib").write_text("")
    (tmp_path / "book" / "intro.md").write_text(PAGE)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    build = subprocess.run([str(jupyter_book), "build", str(tmp_path), "-W", "--keep-going"],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode != 0, build.stdout[-2000:]
    assert "this cell fails on purpose" in build.stdout + build.stderr
