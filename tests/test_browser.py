"""The built book as a reader sees it: every page opened in a real browser (headless Chromium).

The book in ``_build/html`` (the README's first command builds it) is served on localhost and every
page is opened with every request to another host refused, as for a reader without a network. Each
page must load without console errors, show every image, typeset every equation with the local
MathJax (no raw ``\\(`` left), show the outputs its executed notebook has, and link only to pages and
anchors that exist. A screenshot of each page goes to ``_build/screenshots/`` for a person to look at.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright's Python client; nothing
downloads a browser. Without a browser or a built book the tests skip and say why, except under CI
(``CI=true``), where ``.ci/run`` installs the browser and builds the book first, so they must run.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
EXECUTED = ROOT / "_build" / "jupyter_execute"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("RNNCOURSE_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# The flags a closed network needs: without the background-networking ones Chromium keeps calling home.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_sphinx_design_static"}


def _missing(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI must run the browser tests: .ci/run installs chromium and builds the book)")
    pytest.skip(reason)


def book_pages() -> list[str]:
    """Every HTML page of the built book, relative to ``_build/html``, without the theme's files."""
    if not HTML.is_dir():
        return []
    return sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
                  if not SKIP_DIRS & set(p.relative_to(HTML).parts) and not _redirect(p))


def _redirect(path: Path) -> str | None:
    """Where a page that only forwards the reader (the root ``index.html``) sends them, else None."""
    match = re.search(r'http-equiv="refresh"[^>]*url=([^"]+)"', path.read_text(errors="replace"), re.I)
    return match.group(1) if match else None


PAGES = book_pages()


@pytest.fixture(scope="module")
def book_url():
    if not (HTML / "index.html").is_file():
        _missing(f"the book is not built ({HTML} has no index.html): run the README's first command")
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # one line per request would bury the test output
        pass


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -r requirements.txt)")
    if not Path(CHROMIUM).is_file():
        _missing(f"no Chromium at {CHROMIUM}: install Debian's with `apt-get install chromium` "
                 "(or set RNNCOURSE_CHROMIUM to a Chromium binary)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_offline(browser, url: str):
    """A new page at ``url`` with every request to another host refused; returns the page and the
    problems seen while loading it (console errors, uncaught exceptions, failed local requests)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    local = urlparse(url).netloc
    page.route("**/*", lambda route: route.continue_() if urlparse(route.request.url).netloc == local
               else route.abort())
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" and not _external_refusal(message.text) else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    page.on("response", lambda response: problems.append(f"HTTP {response.status}: {response.url}")
            if response.status >= 400 and urlparse(response.url).netloc == local else None)
    page.goto(url, wait_until="load")
    # MathJax 3 typesets after load; its startup promise resolves when the page is done.
    page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    return page, problems


def _external_refusal(text: str) -> bool:
    """The console line Chromium prints for a request to another host that the test itself refused."""
    return "net::ERR_FAILED" in text or "net::ERR_BLOCKED" in text


def outputs_in_notebook(page: str) -> int:
    """How many code cells of a page's executed notebook show an output in the book."""
    notebook = EXECUTED / Path(page).with_suffix(".ipynb")
    if not notebook.is_file():
        return 0
    cells = json.loads(notebook.read_text())["cells"]
    hidden = {"remove-output", "remove-cell"}
    return sum(1 for cell in cells if cell["cell_type"] == "code" and cell.get("outputs")
               and not hidden & set(cell.get("metadata", {}).get("tags", [])))


@pytest.mark.parametrize("page", PAGES or ["index.html"])
def test_page_in_a_browser(page, book_url, browser):
    tab, problems = open_offline(browser, urljoin(book_url, page))
    try:
        broken = tab.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
                              ".map(i => i.getAttribute('src'))")
        assert not broken, f"{page}: images that did not load: {broken}"
        math = tab.evaluate("() => document.querySelectorAll('.math').length")
        typeset = tab.evaluate("() => document.querySelectorAll('mjx-container').length")
        if math:
            assert typeset >= math, f"{page}: {math} equations, only {typeset} typeset by MathJax"
        text = tab.evaluate("() => document.querySelector('main') ? document.querySelector('main').innerText : ''")
        raw = re.findall(r"\\[(\[]|\$\$", text)
        assert not raw, f"{page}: raw LaTeX delimiters left in the text: {raw[:5]}"
        expected = outputs_in_notebook(page)
        shown = tab.evaluate("() => document.querySelectorAll('.cell_output').length")
        assert shown >= expected, f"{page}: its notebook has {expected} cells with outputs, the page shows {shown}"
        assert not problems, f"{page}: " + "; ".join(problems)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / (page.replace("/", "__").removesuffix(".html") + ".png")),
                       full_page=True)
    finally:
        tab.close()


# Pages whose figures are numbered and captioned: every image a code cell draws sits in a figure with
# a "Fig. N" number, a caption and a ``fig-`` name (myst-nb's ``mystnb: figure:`` cell metadata, see
# book/02_lstm/cell.md). A chapter joins by adding its pages here, as paths under _build/html.
CAPTIONED_PAGES = (
    "book/01_rnn/index.html",
    "book/01_rnn/recurrence.html",
    "book/01_rnn/elman_jordan.html",
    "book/01_rnn/configurations.html",
    "book/01_rnn/bptt.html",
    "book/01_rnn/truncated_bptt.html",
    "book/01_rnn/experiment.html",
    "book/01_rnn/summary.html",
    "book/02_lstm/index.html",
    "book/02_lstm/cell.html",
    "book/02_lstm/variants.html",
    "book/02_lstm/forget_bias.html",
    "book/02_lstm/summary.html",
    "book/03_vanishing/index.html",
    "book/03_vanishing/measured.html",
    "book/03_vanishing/exploding.html",
    "book/03_vanishing/initialisation.html",
    "book/03_vanishing/summary.html",
    "book/04_gru_mgu/index.html",
    "book/04_gru_mgu/gru.html",
    "book/04_gru_mgu/mgu.html",
    "book/04_gru_mgu/experiment.html",
    "book/04_gru_mgu/text.html",
    "book/04_gru_mgu/summary.html",
    "book/05_deep/index.html",
    "book/05_deep/bidirectional.html",
    "book/05_deep/deep.html",
    "book/05_deep/classification.html",
    "book/05_deep/language_model.html",
    "book/05_deep/timeseries.html",
    "book/05_deep/summary.html",
    "book/06_ntm/index.html",
    "book/06_ntm/addressing.html",
    "book/06_ntm/copy.html",
    "book/06_ntm/tasks.html",
    "book/06_ntm/summary.html",
    "book/notation.html",
    "book/intro.html",
    "book/bibliography.html",
    "book/07_convlstm/index.html",
    "book/07_convlstm/cell.html",
    "book/07_convlstm/motion.html",
    "book/07_convlstm/experiment.html",
    "book/07_convlstm/summary.html",
    "book/08_batchnorm/index.html",
    "book/08_batchnorm/why.html",
    "book/08_batchnorm/laurent.html",
    "book/08_batchnorm/cooijmans.html",
    "book/08_batchnorm/experiment.html",
    "book/08_batchnorm/summary.html",
    "book/08_batchnorm/blank_rows.html",
    "book/09_seq2seq/index.html",
    "book/09_seq2seq/models.html",
    "book/09_seq2seq/failure_modes.html",
    "book/09_seq2seq/experiment.html",
    "book/09_seq2seq/sequence_autoencoder.html",
    "book/09_seq2seq/summary.html",
)

# For every image in the article's code outputs: what is wrong with the figure around it, or null.
_UNCAPTIONED_IMAGES = """() => [...document.querySelectorAll('article .cell_output img')].map(img => {
    const src = img.getAttribute('src');
    const figure = img.closest('figure');
    if (!figure) return `${src}: not in a figure`;
    const number = figure.querySelector('figcaption span.caption-number');
    if (!number || !/^Fig\\. \\d+/.test(number.textContent.trim())) return `${src}: the figure has no number`;
    const text = figure.querySelector('figcaption .caption-text');
    if (!text || !text.textContent.trim()) return `${src}: the figure has no caption text`;
    if (!figure.id.startsWith('fig-')) return `${src}: the figure's name ${JSON.stringify(figure.id)} lacks the fig- prefix`;
    return null;
}).filter(problem => problem)"""


@pytest.mark.parametrize("page", CAPTIONED_PAGES)
def test_figures_are_numbered_and_captioned(page, book_url, browser):
    if not (HTML / page).is_file():
        pytest.fail(f"{page} is in CAPTIONED_PAGES but not in the built book")
    tab, _ = open_offline(browser, urljoin(book_url, page))
    try:
        problems = tab.evaluate(_UNCAPTIONED_IMAGES)
        assert not problems, f"{page}: images of code outputs outside a numbered, captioned figure: {problems}"
    finally:
        tab.close()


def test_figure_names_are_unique_across_the_book():
    """A ``fig-`` name used twice would make {numref} point at whichever page Sphinx read last."""
    if not PAGES:
        _missing("the book is not built: run the README's first command")
    seen = {}
    for page in PAGES:
        for name in re.findall(r'<figure[^>]*\bid="(fig-[^"]+)"', (HTML / page).read_text(errors="replace")):
            seen.setdefault(name, []).append(page)
    repeated = {name: pages for name, pages in seen.items() if len(pages) > 1}
    assert not repeated, f"figure names used more than once: {repeated}"


def test_the_root_forwards_to_the_first_page():
    if not (HTML / "index.html").is_file():
        _missing("the book is not built: run the README's first command")
    target = _redirect(HTML / "index.html")
    assert target and (HTML / target).is_file(), f"index.html forwards to {target!r}, which is not built"


def test_search_finds_pages(book_url, browser):
    tab, problems = open_offline(browser, urljoin(book_url, "search.html?q=forget+gate"))
    try:
        tab.wait_for_selector("#search-results li", timeout=30_000)
        assert tab.locator("#search-results li").count() >= 3
        assert not problems, "; ".join(problems)
    finally:
        tab.close()


def test_math_is_local():
    """The pages load MathJax from the book itself, never from a CDN."""
    if not PAGES:
        _missing("the book is not built: run the README's first command")
    assert (HTML / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for page in PAGES:
        html = (HTML / page).read_text()
        sources = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', html, re.I)
        assert all(not urlparse(src).netloc for src in sources), f"{page} loads MathJax from {sources}"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script") and attrs.get("src"):
            self.links.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.links.append(attrs["href"])


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(errors="replace"))
    return parser


def test_every_internal_link_and_anchor_resolves():
    if not PAGES:
        _missing("the book is not built: run the README's first command")
    broken = []
    for page in PAGES:
        base = HTML / page
        for link in _parsed(base).links:
            target = urlparse(link)
            if target.scheme or target.netloc or link.startswith(("mailto:", "javascript:")):
                continue
            path = (base.parent / unquote(target.path)).resolve() if target.path else base
            if path.is_dir():
                path = path / "index.html"
            if not path.exists():
                broken.append(f"{page}: {link} (no file {path.relative_to(ROOT) if ROOT in path.parents else path})")
            elif target.fragment and path.suffix == ".html" and unquote(target.fragment) not in _parsed(path).ids:
                broken.append(f"{page}: {link} (no anchor #{target.fragment})")
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken[:40])


def test_every_assignment_has_a_page_in_the_book():
    from rnncourse.exercises import assignments

    toc = (ROOT / "_toc.yml").read_text()
    missing = [a for a in assignments() if f"book/exercises/{a}" not in toc]
    assert not missing, f"assignments without a page in the book's Exercises part: {missing}"
