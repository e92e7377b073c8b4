"""Execute the book's pages in parallel into the execution cache, before Jupyter Book reads them.

Jupyter Book executes a page when Sphinx reads it, one page after another, so a cold build of
nine chapters takes the sum of every page's execution time. The pages do not depend on each
other, so ``rnncourse build-book`` first finds the pages whose outputs are not in the cache and
executes them a few at a time with the same reader, hashing and executor myst-nb uses; Jupyter
Book then finds every page in the cache and only renders. A page that fails here is not cached,
so Jupyter Book executes it again and stops the strict build with its own traceback, as it would
without this step.

Each worker's kernel is limited to ``cpus // workers`` threads (``OMP_NUM_THREADS``), so that two
pages at a time do not fight over the same cores.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

PAGE_TIMES = Path("_build") / "page-times.json"  # each page's last execution time, kept across cache drops


def _reader_configs(root: Path):
    import yaml
    from myst_nb.core.config import NbParserConfig
    from myst_parser.config.main import MdParserConfig

    config = yaml.safe_load((root / "_config.yml").read_text()) or {}
    extensions = set((config.get("parse") or {}).get("myst_enable_extensions") or ())
    execute = config.get("execute") or {}
    return MdParserConfig(enable_extensions=extensions), NbParserConfig(), execute


def notebook_pages(root: Path) -> list[tuple[Path, object]]:
    """The table of contents' pages that are notebooks, each with the notebook myst-nb reads from it."""
    from myst_nb.core.read import create_nb_reader
    from sphinx_external_toc.parsing import parse_toc_yaml

    if not (root / "_toc.yml").exists():
        return []  # not a book: Jupyter Book says so itself
    md_config, nb_config, _ = _reader_configs(root)
    pages = []
    for docname in parse_toc_yaml(root / "_toc.yml"):
        path = next((root / f"{docname}{suffix}" for suffix in (".md", ".ipynb") if (root / f"{docname}{suffix}").exists()),
                    None)
        if path is None:
            continue  # Jupyter Book reports a missing page itself
        text = path.read_text()
        reader = create_nb_reader(str(path), md_config, nb_config, text)
        if reader is not None:
            pages.append((path, reader.read(text)))
    return pages


def _execute(path: str, notebook, timeout: int, threads: int):
    """Worker: execute one notebook in its page's folder, as myst-nb's cache mode does."""
    from jupyter_cache.executors.utils import single_nb_execution

    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    result = single_nb_execution(notebook, cwd=str(Path(path).parent), allow_errors=False, timeout=timeout,
                                 meta_override=True)
    error = None if result.err is None else f"{type(result.err).__name__}: {str(result.err).strip()[-2000:]}"
    return path, notebook, result.time, error


def execute_pages(root: Path, workers: int, log=print) -> dict[str, float]:
    """Execute every page missing from the cache, ``workers`` at a time; return ``{page: seconds}`` executed.

    Pages run longest first (by their last recorded time), so that the slowest page does not
    start last and leave the other workers idle.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    _, _, execute = _reader_configs(root)
    cache = get_cache(str(root / execute.get("cache", "_build/.jupyter_cache")))
    missing = []
    for path, notebook in notebook_pages(root):
        try:
            cache.match_cache_notebook(notebook)
        except KeyError:
            missing.append((path, notebook))
    if not missing:
        return {}
    history_file = root / PAGE_TIMES
    history = json.loads(history_file.read_text()) if history_file.exists() else {}
    missing.sort(key=lambda item: -history.get(str(item[0].relative_to(root)), 0.0))
    threads = max(1, (os.cpu_count() or 1) // workers)
    default_timeout = int(execute.get("timeout", 30))
    log(f"rnncourse: executing {len(missing)} pages, {workers} at a time ({threads} thread(s) each)")
    executed, started = {}, time.time()
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = {pool.submit(_execute, str(path), notebook,
                               int((notebook.metadata.get("mystnb") or {}).get("execution_timeout", default_timeout)),
                               threads)
                   for path, notebook in missing}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                path, notebook, seconds, error = future.result()
                name = str(Path(path).relative_to(root))
                if error:  # not cached: the strict build executes it again and reports it
                    log(f"  failed   {name} after {seconds:.1f} s: {error.splitlines()[-1] if error else ''}")
                    continue
                cache.cache_notebook_bundle(CacheBundleIn(notebook, path, data={"execution_seconds": seconds}),
                                            check_validity=False, overwrite=True)
                executed[name] = seconds
                log(f"  {seconds:7.1f} s {name}  ({len(executed)}/{len(missing)}, {time.time() - started:.0f} s)")
    history.update(executed)
    history_file.parent.mkdir(parents=True, exist_ok=True)
    history_file.write_text(json.dumps(dict(sorted(history.items())), indent=1))
    return executed
