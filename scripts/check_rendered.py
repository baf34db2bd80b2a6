"""Open the built book in headless Chromium and check what a reader sees.

    python scripts/check_rendered.py _build/html --screenshots _build/screenshots

Serves the HTML on localhost (the search page needs http, not file://), loads each page in
Debian's ``chromium`` with a small probe script injected at the top of its ``<head>``, and reads
back the DOM after the page's own scripts ran. Every page: no error output, every formula
typeset by MathJax, every image decoded, every animation showing a frame; a page built from a
notebook also has its Colab launch button. The search page lists results for ``--query``.
A screenshot of every page goes to ``--screenshots``.

The browser reaches nothing but localhost unless ``--online`` is given, as in CI, where CDNs
are out of reach: a page that needs one (MathJax from a CDN, say) fails here as it would there.
What fails to load from another host is only noted; what it breaks (math, figures) is a problem.
A book built to publish (`jupyter-book build .`) takes MathJax from a CDN: check it with ``--online``.
Exit status 1 when a page has a problem; one line per problem.
"""

from __future__ import annotations

import argparse
import functools
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit

from bs4 import BeautifulSoup  # installed with jupyter-book (pydata-sphinx-theme needs it)

COLAB = "https://colab.research.google.com/"
BUDGET_MS = (
    20_000  # virtual time a page gets to load and run its scripts (it passes fast when idle)
)
# Script errors of the toolchain itself, not of the book, with why each is harmless.
KNOWN_SCRIPT_ERRORS = {
    # sphinx-thebe 0.3.1 adds its one-line config script twice under Jupyter Book 1; the first
    # copy declares every name, the second only fails (thebe is off in this book anyway).
    "Identifier 'THEBE_JS_URL' has already been declared",
}

# Injected first thing in <head>, so it also sees errors raised by the page's own scripts.
# When the page has loaded (MathJax typeset, search results listed, images decoded) it records
# each image's naturalWidth on the element, appends its JSON report to <body> and marks <html>
# as probed; the DOM Chromium dumps is then all the Python side needs.
PROBE = r"""<script>
(function () {
  var report = {js_errors: [], failed_loads: []};
  window.addEventListener("error", function (e) {
    var el = e.target;
    if (el && el !== window && (el.src || el.href)) report.failed_loads.push(el.src || el.href);
    else report.js_errors.push(String(e.message));
  }, true);
  window.addEventListener("unhandledrejection", function (e) {
    report.js_errors.push("unhandled rejection: " + e.reason);
  });
  var sleep = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };
  var loaded = new Promise(function (r) { window.addEventListener("load", r); });
  async function waitFor(test, tries) {
    for (var i = 0; i < tries && !test(); i++) await sleep(100);
  }
  async function probe() {
    await loaded;
    if (document.querySelector(".math")) {  // MathJax 3 loads asynchronously, then typesets once
      await waitFor(function () { return window.MathJax && MathJax.startup && MathJax.startup.promise; }, 100);
      if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
    }
    if (document.getElementById("search-results")) {  // the list fills after the index loads
      await waitFor(function () { return document.querySelector("#search-results li, .search-summary"); }, 100);
    }
    await Promise.all(Array.from(document.images).map(async function (img) {
      img.loading = "eager";  // a lazy image below the fold would never load in a headless window
      // decode() can stay pending for an image Chromium defers (seen offscreen in long pages), so
      // wait for it at most 10 s; the width read afterwards decides whether the image loaded.
      try { await Promise.race([img.decode(), sleep(10000)]); } catch (e) { /* broken: naturalWidth stays 0 */ }
      img.setAttribute("data-probe-width", img.naturalWidth);
    }));
    document.querySelectorAll("video").forEach(function (v) { v.setAttribute("data-probe-ready", v.readyState); });
  }
  probe().catch(function (e) { report.js_errors.push("probe: " + e); }).then(function () {
    var out = document.createElement("script");
    out.type = "application/json";
    out.id = "probe-report";
    out.textContent = JSON.stringify(report);
    document.body.appendChild(out);
    document.documentElement.setAttribute("data-probe", "done");
  });
})();
</script>"""


@dataclass
class PageReport:
    """What a reader sees on one page, read from the DOM after its scripts ran."""

    path: str  # relative to the HTML folder, e.g. "book/04_optimal_discriminator.html"
    probed: bool = False  # the probe finished within the time budget
    errors: list[str] = field(
        default_factory=list
    )  # error outputs and tracebacks (their last line)
    stderr: list[str] = field(default_factory=list)  # stderr outputs (warnings; progress bars)
    math: int = 0  # formulas typeset by MathJax
    untypeset: list[str] = field(default_factory=list)  # math elements left as TeX source
    math_errors: list[str] = field(
        default_factory=list
    )  # MathJax's messages for formulas it could not parse
    raw_tex: list[str] = field(
        default_factory=list
    )  # prose with $...$ or $$ that never became math
    output_images: int = 0  # <img> in cell outputs (figures), animations not counted
    broken_images: list[str] = field(default_factory=list)  # src of every <img> that did not decode
    animations: list[int] = field(
        default_factory=list
    )  # frames of each jshtml animation (0: none shown)
    videos: list[int] = field(
        default_factory=list
    )  # readyState of each <video> (0: nothing loaded)
    launch: list[str] = field(default_factory=list)  # Colab launch links
    search_results: list[str] = field(default_factory=list)  # hrefs listed by the search page
    js_errors: list[str] = field(default_factory=list)  # uncaught exceptions in the page's scripts
    failed_loads: list[str] = field(
        default_factory=list
    )  # scripts, styles, images that failed to load
    screenshot: str | None = None

    def problems(self, notebook: bool = False, online: bool = False) -> list[str]:
        """One line per problem; ``notebook``: the page was built from a .ipynb (it needs a Colab button).

        Offline, a resource from another host cannot load (matplotlib's animations take their button
        icons from a CDN): not a problem in itself; what it breaks (math, images) is found as such.
        """
        found = [] if self.probed else ["the page did not finish loading within the time budget"]
        found += [f"error output: {e}" for e in self.errors]
        found += [f"formula not typeset: {t}" for t in self.untypeset]
        found += [f"MathJax error: {t}" for t in self.math_errors]
        found += [f"TeX left in the text: {t}" for t in self.raw_tex]
        found += [f"image does not load: {src}" for src in self.broken_images]
        found += [f"animation {i} shows no frame" for i, n in enumerate(self.animations) if n == 0]
        found += [f"video {i} does not load" for i, ready in enumerate(self.videos) if ready == 0]
        found += [f"script error: {e}" for e in self.js_errors]
        found += [f"failed to load: {url}" for url in self.failed_loads if online or is_local(url)]
        source = self.path.removesuffix(".html") + ".ipynb"
        if notebook and not any(
            href.startswith(COLAB) and href.endswith("/" + source) for href in self.launch
        ):
            found.append(f"no Colab launch button for {source} (links: {self.launch})")
        return found


def is_local(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost")


def short(text: str, n: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."


def last_line(text: str) -> str:
    """The line a traceback ends with (``AssertionError: ...``), rules of dashes skipped."""
    lines = [line for line in text.splitlines() if line.strip(" -")]
    return short(lines[-1]) if lines else ""


# Prose that still holds TeX: $$ anywhere, or $x$ with no space inside either dollar.
RAW_TEX = re.compile(r"\$\$|(?<![\\$\w])\$[^\s$](?:[^$]*[^\s$\\])?\$(?![\w$])")
NOT_PROSE = ("script", "style", "pre", "code", "textarea", "mjx-container")


def parse_page(dom: str, path: str) -> PageReport:
    """Read a page's report from its DOM, as dumped after the probe ran (see ``PROBE``)."""
    soup = BeautifulSoup(dom, "html.parser")
    page = PageReport(
        path=path, probed=soup.html is not None and soup.html.get("data-probe") == "done"
    )
    report = soup.find("script", id="probe-report")
    if report is not None:
        data = json.loads(report.string or "{}")
        page.js_errors = [
            e for e in data.get("js_errors", []) if not any(k in e for k in KNOWN_SCRIPT_ERRORS)
        ]
        page.failed_loads = data.get("failed_loads", [])
    # myst-nb renders an error output as .output.traceback; docutils problems as .system-message
    for el in soup.select(".output.traceback, .output.error, .system-message"):
        page.errors.append(last_line(el.get_text()))
    for el in soup.select(".cell_output"):
        if "Traceback (most recent call last)" in el.get_text() and not el.select(
            ".output.traceback"
        ):
            page.errors.append(last_line(el.get_text()))
    page.stderr = [short(el.get_text()) for el in soup.select(".output.stderr")]
    page.math = len(soup.find_all("mjx-container"))
    page.untypeset = [
        short(el.get_text()) for el in soup.select(".math") if el.find("mjx-container") is None
    ]
    page.math_errors = [
        short(el.get("data-mjx-error") or el.get_text()) for el in soup.find_all("mjx-merror")
    ]
    # A "$" drawn inside a formula (MathJax's glyph class mjx-c24) is a dollar sign that paired with the
    # wrong partner: e.g. $$...$$ written inside a list item, which dollarmath leaves as text.
    page.raw_tex += [
        f"a $ typeset inside: {short(el.get_text())}"
        for el in soup.select(".math")
        if el.select_one("mjx-c.mjx-c24") is not None
    ]
    body = soup.body or soup
    for text in body.find_all(string=RAW_TEX):
        if not any(
            parent.name in NOT_PROSE or "highlight" in (parent.get("class") or [])
            for parent in text.parents
        ):
            page.raw_tex.append(short(str(text)))
    for img in soup.find_all("img"):
        if int(img.get("data-probe-width") or 0) == 0:
            page.broken_images.append(short(img.get("src") or "(no src)"))
    figures = [
        img
        for img in soup.select(".cell_output img")
        if img.find_parent(class_="animation") is None
    ]
    page.output_images = len(figures)
    for anim in soup.select(".animation"):
        img, slider = anim.find("img"), anim.find("input", attrs={"type": "range"})
        shown = img is not None and int(img.get("data-probe-width") or 0) > 0
        page.animations.append(int(slider.get("max", 0)) + 1 if shown and slider is not None else 0)
    page.videos = [int(v.get("data-probe-ready") or 0) for v in soup.find_all("video")]
    page.launch = [a["href"] for a in soup.find_all("a", href=True) if a["href"].startswith(COLAB)]
    results = soup.find(id="search-results")
    if results is not None:
        page.search_results = [
            a["href"] for li in results.find_all("li") for a in li.find_all("a", href=True)[:1]
        ]
    return page


class ProbeHandler(SimpleHTTPRequestHandler):
    """Serves a folder, with ``PROBE`` injected into every HTML page."""

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if path.suffix != ".html" or not path.is_file():
            return super().do_GET()
        html = path.read_text(encoding="utf-8")
        head = re.search(r"<head[^>]*>", html, flags=re.IGNORECASE)
        at = head.end() if head else 0
        body = (html[:at] + PROBE + html[at:]).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # quiet: one line per request would bury the report
        pass


@contextmanager
def serve(html_dir: Path):
    """Serve ``html_dir`` on a free localhost port; yield its base URL."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(ProbeHandler, directory=str(html_dir))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def find_chromium() -> str | None:
    """The browser to drive: $CHROMIUM, else the first of chromium, chromium-browser, google-chrome on PATH."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    return next(
        filter(None, map(shutil.which, ["chromium", "chromium-browser", "google-chrome"])), None
    )


def load(
    url: str,
    chromium: str,
    profile: Path,
    screenshot: Path | None = None,
    online: bool = False,
    budget_ms: int = BUDGET_MS,
) -> str:
    """The DOM of ``url`` after its scripts ran (and a 1280x2000 screenshot, if asked for)."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={budget_ms}",
        "--window-size=1280,2000",
        "--dump-dom",
    ]
    if not online:  # every host but localhost unresolvable: what CI sees
        command.append("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    if screenshot is not None:
        command.append(f"--screenshot={screenshot}")
    result = subprocess.run(command + [url], capture_output=True, text=True, timeout=180)
    if result.returncode != 0 or "<html" not in result.stdout:
        raise RuntimeError(
            f"{chromium} failed on {url} (exit {result.returncode}):\n{result.stderr[-3000:]}"
        )
    return result.stdout


def book_pages(html_dir: Path) -> list[str]:
    """The book's pages: each .html with its source in _sources/ (not the indices, the redirect, search)."""
    pages = []
    for path in html_dir.rglob("*.html"):
        page = path.relative_to(html_dir)
        source = glob.escape(str(page.with_suffix(""))) + ".*"  # _sources/book/intro.md, ...
        if not page.parts[0].startswith("_") and any((html_dir / "_sources").glob(source)):
            pages.append(str(page))
    return sorted(pages)


def is_notebook(html_dir: Path, page: str) -> bool:
    return (html_dir / "_sources" / page).with_suffix(".ipynb").exists()


def check_book(
    html_dir: Path,
    screenshots: Path | None = None,
    query: str = "discriminator",
    online: bool = False,
    chromium: str | None = None,
    jobs: int = 2,
) -> dict[str, PageReport]:
    """Load every page of ``html_dir``, and its search page for ``query``; return the reports by path.

    ``jobs`` browsers run at once, each with its own profile (a page costs seconds of CPU: MathJax).
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found: install Debian's `chromium` or set $CHROMIUM")
    html_dir = Path(html_dir)
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
    targets = [(page, page) for page in book_pages(html_dir)] + [
        ("search.html", f"search.html?q={quote(query)}")
    ]

    def check(page: str, target: str) -> PageReport:
        shot = (
            None
            if screenshots is None
            else screenshots / (page.removesuffix(".html").replace("/", "__") + ".png")
        )
        if shot is not None:
            shot.unlink(
                missing_ok=True
            )  # a screenshot left from an earlier run would pass for this one
        for budget in (
            BUDGET_MS,
            4 * BUDGET_MS,
        ):  # a busy machine can need longer: one retry with more time
            with tempfile.TemporaryDirectory() as profile:
                report = parse_page(
                    load(base + target, chromium, Path(profile), shot, online, budget), page
                )
            if report.probed:
                break
        report.screenshot = str(shot) if shot is not None and shot.exists() else None
        return report

    with serve(html_dir) as base, ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(zip([page for page, _ in targets], pool.map(lambda t: check(*t), targets)))


def problems(html_dir: Path, reports: dict[str, PageReport], online: bool = False) -> list[str]:
    """Every problem of every page, as ``page: problem`` lines; the search page must list results."""
    lines = [
        f"{page}: {p}"
        for page, report in reports.items()
        for p in report.problems(notebook=is_notebook(Path(html_dir), page), online=online)
    ]
    if "search.html" in reports and not reports["search.html"].search_results:
        lines.append("search.html: no results listed")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("html", type=Path, help="the built HTML folder, e.g. _build/html")
    parser.add_argument(
        "--screenshots", type=Path, default=None, help="folder for one PNG per page"
    )
    parser.add_argument(
        "--query", default="discriminator", help="word to search for on the search page"
    )
    parser.add_argument(
        "--online", action="store_true", help="let the browser reach other hosts (CDNs)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="browsers at once (default 2)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive integer, got {args.jobs}")
    if not (args.html / "search.html").exists():
        parser.error(
            f"{args.html} is not a built book (no search.html); build it with jupyter-book first"
        )
    reports = check_book(args.html, args.screenshots, args.query, args.online, jobs=args.jobs)
    for page, r in reports.items():
        extra = f"  results {len(r.search_results)}" if page == "search.html" else ""
        print(
            f"{page:45s} math {r.math:4d}  figures {r.output_images:3d}  animations {len(r.animations)}"
            f"  launch {len(r.launch)}{extra}"
        )
    for (
        page,
        r,
    ) in reports.items():  # not errors: warnings and progress bars; what only a CDN serves
        print("".join(f"note: {page}: stderr output: {text}\n" for text in r.stderr), end="")
        if not args.online:
            print(
                "".join(
                    f"note: {page}: offline, not loaded: {url}\n"
                    for url in r.failed_loads
                    if not is_local(url)
                ),
                end="",
            )
    found = problems(args.html, reports, args.online)
    print("\n".join(found) if found else f"no problems on {len(reports)} pages")
    if args.screenshots is not None:
        print(f"screenshots: {args.screenshots.resolve()}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
