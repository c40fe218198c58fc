"""The documentation site (issue 34): built from this checkout, every public name and every
experiment has a page, no internal link is broken, and a real browser (the system's headless
Chromium through Selenium and the system's chromedriver) loads the index, an API page and a
course page without console errors and with every image, and its search finds ``fit``.

The site is built once into ``docs/_build/html`` (``python docs/build.py``, which CI runs
first); the test rebuilds it when any source is newer than the build.
"""

from __future__ import annotations

import functools
import glob
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from html.parser import HTMLParser
from urllib.parse import unquote, urlparse

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
SITE = os.path.join(DOCS, "_build", "html")
sys.path.insert(0, DOCS)


def _newest_source() -> float:
    paths = [p for pattern in ("docs/**/*.py", "docs/**/*.md", "docs/**/*.rst", "jaxdl/**/*.py", "experiments/*.py")
             for p in glob.glob(os.path.join(ROOT, pattern), recursive=True) if "_build" not in p
             and f"{os.sep}api{os.sep}" not in p and "course_gallery" not in p]
    return max(os.path.getmtime(p) for p in paths)


def _built_site() -> str:
    stamp = os.path.join(SITE, "index.html")
    if not os.path.exists(stamp) or os.path.getmtime(stamp) < _newest_source():
        out = subprocess.run([sys.executable, os.path.join(DOCS, "build.py")], capture_output=True, text=True,
                             timeout=1200)
        assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]
    return SITE


class _Links(HTMLParser):
    """A page's links as ``(url, loaded)``: ``loaded`` for what the browser fetches with the
    page (scripts, images, stylesheets), not for what a reader may follow (``<a href>``)."""

    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name) and not (tag == "link" and attrs.get("rel") in ("preconnect", "dns-prefetch")):
                self.links.append((attrs[name], tag != "a"))


def _parse(path: str) -> _Links:
    parser = _Links()
    with open(path, encoding="utf-8") as f:
        parser.feed(f.read())
    return parser


def broken_links(site: str) -> list[str]:
    """Every internal href / src of every page whose file, or whose #fragment on that page,
    does not exist; and every script, image or stylesheet loaded from another host (the site
    must work offline; a reader's links to other sites are fine)."""
    pages = {os.path.normpath(p): _parse(p) for p in glob.glob(os.path.join(site, "**", "*.html"), recursive=True)}
    broken = []
    for page, parsed in pages.items():
        for link, loaded in parsed.links:
            url = urlparse(link)
            if url.scheme in ("mailto", "javascript", "data"):
                continue
            if url.scheme or url.netloc:
                if loaded:
                    broken.append(f"{os.path.relpath(page, site)}: external {link}")
                continue
            target = page if not url.path else os.path.normpath(os.path.join(os.path.dirname(page), unquote(url.path)))
            if not os.path.exists(target):
                broken.append(f"{os.path.relpath(page, site)}: {link}")
            elif url.fragment and target.endswith(".html") and target in pages and url.fragment not in pages[target].ids:
                broken.append(f"{os.path.relpath(page, site)}: {link} (no such anchor)")
    return broken


def test_link_checker_finds_a_broken_link(tmp_path):
    (tmp_path / "a.html").write_text('<a href="b.html#x">b</a><a href="missing.html">m</a><img src="i.png">'
                                     '<script src="https://cdn.example.org/x.js"></script>'
                                     '<a href="https://example.org/">a site a reader may visit</a>')
    (tmp_path / "b.html").write_text('<p id="y">b</p>')
    (tmp_path / "i.png").write_bytes(b"png")
    assert broken_links(str(tmp_path)) == ["a.html: b.html#x (no such anchor)", "a.html: missing.html",
                                           "a.html: external https://cdn.example.org/x.js"]


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def _check_page(driver, url: str, shot: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return Array.from(document.images).every(i => i.complete)"))
    driver.save_screenshot(shot)
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{url}: console errors {errors}"
    images = driver.execute_script("return Array.from(document.images).map(i => [i.src, i.naturalWidth])")
    assert all(width > 0 for _, width in images), f"{url}: images that did not load {images}"
    return images


def _have_browser() -> bool:
    return bool((shutil.which("chromium") or shutil.which("chromium-browser")) and shutil.which("chromedriver"))


@pytest.mark.skipif(not _have_browser() and not os.environ.get("CI"),
                    reason="no system Chromium / chromedriver here (CI installs them: .ci/run)")
def test_the_built_site_as_a_reader_sees_it(tmp_path):
    import api_pages

    site = _built_site()
    assert broken_links(site) == []
    # every public name has a page, every experiment a course page with its figure
    missing = [n for n in api_pages.public_names() if not os.path.exists(os.path.join(site, "api", "generated",
                                                                                      f"{n}.html"))]
    assert not missing, missing
    course = " ".join(open(p).read() for p in glob.glob(os.path.join(DOCS, "course", "lecture_*.py")))
    experiments = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "experiments", "*.py"))}
    without_page = sorted(e for e in experiments if f'"{e}"' not in course)
    assert not without_page, without_page  # mnist_cnn's page shows its committed full-run figures
    lectures = sorted(glob.glob(os.path.join(site, "course_gallery", "lecture_*.html")))
    assert len(lectures) == len(glob.glob(os.path.join(DOCS, "course", "lecture_*.py")))
    for page in lectures:
        assert "<img" in open(page).read(), f"{page} has no figure"

    # Served over HTTP as a hosted site is (from file:// a browser refuses MathJax's web fonts).
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    driver = _browser()
    try:
        pages = {"index": "index.html", "api": "api/generated/jaxdl.fit.html",
                 "course": "course_gallery/lecture_18_loss_landscapes.html"}
        for name, page in pages.items():
            images = _check_page(driver, base + page, str(tmp_path / f"{name}.png"))
            if name == "course":
                assert len(images) >= 2, images
                assert driver.execute_script("return document.querySelectorAll('.MathJax, .MathJax_Display').length") > 0
        driver.get(base + "search.html?q=fit")
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 60).until(lambda d: d.execute_script(
            "return document.querySelectorAll('ul.search li').length") > 0)
        results = driver.execute_script("return Array.from(document.querySelectorAll('ul.search li a'))"
                                        ".map(a => a.getAttribute('href'))")
        driver.save_screenshot(str(tmp_path / "search.png"))
        assert any(re.search(r"jaxdl\.fit\.html", href or "") for href in results), results[:20]
    finally:
        driver.quit()
        server.shutdown()
    shots = os.path.join(SITE, "..", "screenshots")
    os.makedirs(shots, exist_ok=True)
    for png in tmp_path.glob("*.png"):
        shutil.copy(png, shots)


@pytest.mark.parametrize("page", ["index.md", "tutorials/research.md", "tutorials/accelerators.md"])
def test_the_docs_python_examples_run(page, tmp_path, monkeypatch):
    """The site's code blocks are the library's API as it is: run them (the optimizer
    tutorial's blocks read a suite's results and are shell commands, checked by test_bench)."""
    import re as re_

    with open(os.path.join(DOCS, page)) as f:
        blocks = re_.findall(r"```python\n(.*?)```", f.read(), flags=re_.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, page, "exec"), namespace)
