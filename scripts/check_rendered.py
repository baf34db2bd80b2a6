"""Open the built book in headless Chromium and check what a reader sees.

    python scripts/check_rendered.py _build/html --screenshots _build/screenshots
    python scripts/check_rendered.py _build/html --pages 01_implicit intro   # some pages only

Serves the HTML on localhost (the search page needs http, not file://), loads each page in
Debian's ``chromium`` (a 1280 px window) with a small probe script injected at the top of its
``<head>``, and reads back the DOM after the page's own scripts ran. Every page: no error output,
every formula typeset by MathJax, every image decoded, every animation showing a frame; a page
built from a notebook also has its Colab launch button. The search page lists results for
``--query``. A screenshot of every page goes to ``--screenshots``.

The page as a reader sees it (STYLE.md, "The page"), measured by the probe in the browser:
no formula wider than its box (``scrollWidth > clientWidth``, or sticking out of its paragraph),
no "Exercise Exercise" -- on every page; and on the pages in ``CONVERTED`` (all, with
``--all-rules``): no code or output block or table wider than its box, no visible code line over 88
characters, no visible code cell over 25 lines (unless tagged ``listing``), every figure shown at
>= 0.8x its size with a caption and alt text, no debris in outputs (object and numpy reprs,
warnings, machine paths, 16-digit floats, raw dicts). On the other pages those findings are
printed as ``todo:`` lines. A table of counts per page is printed (``--counts FILE`` saves it).

The browser reaches nothing but localhost unless ``--online`` is given, as in CI, where CDNs
are out of reach: a page that needs one (MathJax from a CDN, say) fails here as it would there.
What fails to load from another host is only noted; what it breaks (math, figures) is a problem.
A book built to publish (`jupyter-book build .`) takes MathJax from a CDN: check it with
``--online``.
Exit status 1 when a page has a problem; one line per problem.
"""

from __future__ import annotations

import argparse
import copy
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

# Pages converted to the page rules (folded plumbing, captioned figures, clean outputs): the
# page rules (PageReport.page_findings) fail these pages and are "todo" notes elsewhere. A
# chapter joins when its conversion is done (see PAGE_GUIDE.md); --all-rules: every page.
CONVERTED = {
    "book/intro.html",
    "book/01_implicit_models.html",
    "book/02_learning_by_comparison.html",
    "book/03_game.html",
    "book/04_optimal_discriminator.html",
    "book/05_training_algorithm.html",
    "book/06_saturation.html",
    "book/07_failure_modes.html",
    "book/08_dcgan.html",
    "book/09_fgan.html",
    "book/10_wgan.html",
    "book/11_conditional.html",
    "book/12_bakeoff.html",
    "book/failure_gallery.html",
    "book/appendix_gpu.html",
}
WINDOW, SCREEN = 1280, 2000  # the browser window, CSS px: a laptop's width, a tall screenful
MAX_LINE = 88  # characters in a visible code line (STYLE.md)
MAX_CELL_LINES = 25  # lines in a visible code cell, unless the cell is tagged "listing"
MIN_SCALE = 0.8  # a figure shown narrower than this fraction of its size is shrunk unreadably
SETUP_CELL = "# Set-up:"  # how every chapter's first code cell starts (tests/test_book.py)

# Output debris: what a person should never have to read in a cell's output.
DEBRIS = {
    "object repr": re.compile(r"<[\w.]+(?: object)? at 0x[0-9a-fA-F]+>|<function __main__\.[^>]*>"),
    "figure repr": re.compile(r"<Figure size \d+x\d+ with \d+ Axes>"),
    "numpy repr": re.compile(
        r"\bnp\.(?:float|int|uint|complex|bool|str)\w*\(|\bnp\.(?:True|False)_(?!\w)"
    ),
    "warning": re.compile(r"\b[A-Z]\w*Warning\b:"),
    "machine path": re.compile(
        r"(?<![\w.~-])/(?:home|tmp|root|Users|work|var/folders)/[^\s'\"]*|site-packages|[A-Z]:\\Users"
    ),
    "long float": re.compile(r"(?<![\w.])-?\d+\.\d{9,}(?:e[-+]?\d+)?"),
    "raw dict": re.compile(r"\{\s*(?:'[^'\n]*'|\"[^\"\n]*\"|-?\d[\d.]*)\s*:\s"),  # {'a': 1, ...}
}
EXERCISE_EXERCISE = re.compile(r"\bexercise\s+exercise\b", re.IGNORECASE)

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
      var ready = function () {
        return window.MathJax && MathJax.startup && MathJax.startup.promise;
      };
      await waitFor(ready, 100);
      if (ready()) await MathJax.startup.promise;
    }
    if (document.getElementById("search-results")) {  // the list fills after the index loads
      await waitFor(function () {
        return document.querySelector("#search-results li, .search-summary");
      }, 100);
    }
    await Promise.all(Array.from(document.images).map(async function (img) {
      img.loading = "eager";  // a lazy image below the fold would never load in a headless window
      // decode() can stay pending for an image Chromium defers (seen offscreen in long pages), so
      // wait for it at most 10 s; the width read afterwards decides whether the image loaded.
      try {
        await Promise.race([img.decode(), sleep(10000)]);
      } catch (e) { /* broken: naturalWidth stays 0 */ }
      img.setAttribute("data-probe-width", img.naturalWidth);
    }));
    document.querySelectorAll("video").forEach(function (v) {
      v.setAttribute("data-probe-ready", v.readyState);
    });
    measure();
  }
  // What overflows its box, and how large each figure is shown, in this 1280 px window.
  var SLACK = 3;  // px
  function measure() {
    var content = document.querySelector(".bd-article") || document.body;
    try {  // the TeX source of each formula, to name it in the report
      for (var item of MathJax.startup.document.math) {
        var root = item.typesetRoot;
        if (root && root.setAttribute) {
          root.setAttribute("data-probe-tex", String(item.math).slice(0, 160));
        }
      }
    } catch (e) { /* no MathJax on this page */ }
    function folded(el) { return el.closest("details:not([open])") !== null; }
    function blockOf(el) {
      var b = el.parentElement;
      while (b && b !== content && getComputedStyle(b).display.startsWith("inline")) {
        b = b.parentElement;
      }
      return b || content;
    }
    function wide(el, box) {  // content wider than its box, or sticking out of the block it sits in
      var r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
      if (r.width === 0 || folded(el)) return null;  // not shown: folded away
      var over = Math.max(el.scrollWidth - el.clientWidth, r.right - b.right, b.left - r.left);
      if (over <= 1) return null;
      var needs = Math.max(el.scrollWidth, r.width);
      var has = Math.min(el.clientWidth || r.width, b.width);
      return Math.round(needs) + "/" + Math.round(has);
    }
    function measureMath() {  // a display wider than its line, an inline formula out of its block
      content.querySelectorAll("mjx-container").forEach(function (el) {
        if (el.hasAttribute("data-probe-shown")) return;
        var r = el.getBoundingClientRect();
        if (r.width === 0 || folded(el)) return;
        el.setAttribute("data-probe-shown", Math.round(r.width));
        var b = blockOf(el).getBoundingClientRect();
        var over = el.getAttribute("display") === "true"
          ? el.scrollWidth - el.clientWidth
          : Math.max(r.right - b.right, b.left - r.left);
        if (over > SLACK) {  // a glyph's overhang (italic corrections) is no overflow
          var needs = Math.max(el.scrollWidth, r.width);
          var has = Math.min(el.clientWidth || b.width, b.width);
          el.setAttribute("data-probe-overflow", Math.round(needs) + "/" + Math.round(has));
        }
      });
    }
    content.querySelectorAll("pre, .cell_output .output.text_html").forEach(function (el) {
      var w = wide(el, el);
      if (w) el.setAttribute("data-probe-overflow", w);
    });
    content.querySelectorAll("table").forEach(function (el) {  // a table wider than the column
      var w = wide(el, el.parentElement);
      if (w) el.setAttribute("data-probe-overflow", w);
    });
    content.querySelectorAll("img").forEach(function (img) {
      var shown = folded(img) ? 0 : img.getBoundingClientRect().width;
      var m = /^([0-9.]+)px$/.exec(img.style.width || "");
      var size = m ? parseFloat(m[1]) : (parseFloat(img.getAttribute("width")) || img.naturalWidth);
      img.setAttribute("data-probe-shown", Math.round(shown));
      img.setAttribute("data-probe-size", Math.round(size));
    });
    measureMath();
    // formulas in closed <details> (dropdowns) too: open them, measure, close them again
    var closed = Array.from(content.querySelectorAll("details:not([open])"));
    closed.forEach(function (d) { d.open = true; });
    measureMath();
    closed.forEach(function (d) { d.open = false; });
  }
  probe().catch(function (e) { report.js_errors.push("probe: " + e); }).then(function () {
    var out = document.createElement("script");
    out.type = "application/json";
    out.id = "probe-report";
    report.height = document.documentElement.scrollHeight;
    var scroll = /[?&]probe-scroll=([0-9]+)/.exec(location.search);  // screenshot further down
    if (scroll) {  // a headless screenshot shows the top of the page: move the page up instead
      document.documentElement.style.transform = "translateY(-" + parseInt(scroll[1], 10) + "px)";
    }
    out.textContent = JSON.stringify(report);
    document.body.appendChild(out);
    document.documentElement.setAttribute("data-probe", "done");
  });
})();
</script>"""


@dataclass
class CodeCell:
    """A notebook code cell's source as the page shows it."""

    lines: int  # lines of code (trailing blank lines not counted)
    long_lines: int  # lines over MAX_LINE characters
    folded: bool  # in a closed toggle (hide-input / hide-cell): the reader opens it on demand
    listing: bool = False  # tagged "listing": a named teaching artifact, allowed to be long
    overflow: str | None = None  # "content/box" px when the block scrolls sideways
    setup: bool = False  # the chapter's set-up cell (its own rules: tests/test_book.py, issue 17)


@dataclass
class Figure:
    """An image on the page (a figure output, an animation frame, a figure in the text)."""

    src: str
    alt: str = ""
    caption: str | None = None  # the figure's caption text, None when it has none
    shown: int = 0  # CSS px it is shown at in the 1280 px window (0: not displayed)
    size: int = 0  # CSS px it was made for (its width attribute, else its natural width)
    animation: bool = False

    @property
    def scale(self) -> float | None:
        return self.shown / self.size if self.shown and self.size else None

    @property
    def has_alt(self) -> bool:
        """Alt text a person wrote: not empty, not a file name or the image's address."""
        alt = self.alt.strip()
        return bool(alt) and alt != self.src and not IMAGE_FILE.search(alt)


IMAGE_FILE = re.compile(r"\.(?:png|jpe?g|gif|svg|webp)$|^data:|^\.\./_images/", re.IGNORECASE)


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
    height: int = 0  # CSS px of the whole page in the 1280 px window
    screenshot: str | None = None
    more_screenshots: list[str] = field(default_factory=list)  # further down the page (--full)
    # the page as a reader sees it
    code_cells: list[CodeCell] = field(default_factory=list)
    output_overflow: list[str] = field(default_factory=list)  # output blocks wider than their box
    text_overflow: list[str] = field(default_factory=list)  # code blocks and tables in the text
    wide_math: list[str] = field(default_factory=list)  # formulas wider than their box
    figures: list[Figure] = field(default_factory=list)
    debris: list[str] = field(default_factory=list)  # "kind: text" per item
    exercise_exercise: int = 0  # "Exercise Exercise" in the text

    def visible_code(self) -> list[CodeCell]:
        return [c for c in self.code_cells if not c.folded]

    def counts(self) -> dict[str, int]:
        """The numbers of the per-page table (see ``COUNT_COLUMNS``)."""
        visible = self.visible_code()
        figures = [f for f in self.figures if not f.animation]
        return {
            "cells": len(self.code_cells),
            "visible": len(visible),
            "lines": sum(c.lines for c in visible),
            "long": sum(c.long_lines for c in visible),
            "big": sum(c.lines > MAX_CELL_LINES and not c.listing for c in visible),
            "scroll": sum(c.overflow is not None for c in visible),
            "out wide": len(self.output_overflow) + len(self.text_overflow),
            "figures": len(figures),
            "small": sum(f.scale is not None and f.scale < MIN_SCALE for f in self.figures),
            "no alt": sum(not f.has_alt for f in figures),
            "no caption": sum(f.caption is None for f in self.figures),
            "math wide": len(self.wide_math),
            "debris": len(self.debris),
            "ex ex": self.exercise_exercise,
        }

    def page_findings(self, setup: bool = False) -> list[str]:
        """Findings of the page rules: problems on a page in ``CONVERTED``, todo elsewhere.

        ``setup``: only those of the set-up cell, which tests/test_book.py fixes word for word
        (they are always todo: the cell changes in every chapter at once, or not at all).
        """
        found = []
        for i, c in enumerate(self.code_cells):
            if c.folded or c.setup != setup:
                continue
            if c.overflow:
                found.append(f"code cell {i + 1} scrolls sideways ({c.overflow} px)")
            if c.long_lines:
                found.append(
                    f"code cell {i + 1}: {c.long_lines} line(s) over {MAX_LINE} characters"
                )
            if c.lines > MAX_CELL_LINES and not c.listing:
                found.append(
                    f"code cell {i + 1}: {c.lines} visible lines (at most {MAX_CELL_LINES}; fold "
                    "it, move helpers to ganlab, or tag a teaching listing `listing`)"
                )
        if setup:
            return [f"set-up {f}" for f in found]
        found += [f"output wider than its box: {t}" for t in self.output_overflow]
        found += [f"wider than the column, {t}" for t in self.text_overflow]
        for f in self.figures:
            name = short(f.alt if f.has_alt else f.src, 60)
            if f.scale is not None and f.scale < MIN_SCALE:
                found.append(
                    f"figure shown at {f.scale:.2f}x its size ({f.shown} of {f.size} px): {name}"
                )
            if f.caption is None:
                found.append(f"{'animation' if f.animation else 'figure'} without caption: {name}")
            if not f.animation and not f.has_alt:
                found.append(f"figure without alt text: {name}")
        found += [f"output debris, {d}" for d in self.debris]
        return found

    def book_findings(self) -> list[str]:
        """Findings of the rules every page must pass since the book-wide fixes."""
        found = [f"formula wider than its box: {t}" for t in self.wide_math]
        if self.exercise_exercise:
            found.append(f'"Exercise Exercise" {self.exercise_exercise} time(s) in the text')
        return found

    def problems(
        self, notebook: bool = False, online: bool = False, strict: bool | None = None
    ) -> list[str]:
        """One line per problem; ``notebook``: the page was built from a .ipynb (it needs a Colab
        button).

        Offline, a resource from another host cannot load (matplotlib's animations take their button
        icons from a CDN): not a problem in itself; what it breaks (math, images) is found as such.
        ``strict``: the page rules apply (True), do not (False), or as ``CONVERTED`` says (None).
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
        found += self.book_findings()
        if self.path in CONVERTED if strict is None else strict:
            found += self.page_findings()
        return found

    def todo(self, strict: bool | None = None) -> list[str]:
        """The page-rule findings that are not (yet) problems: on a page not in ``CONVERTED``,
        and the set-up cell's everywhere."""
        converted = self.path in CONVERTED if strict is None else strict
        return ([] if converted else self.page_findings()) + self.page_findings(setup=True)


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
        page.height = int(data.get("height") or 0)
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
    # A "$" drawn inside a formula (MathJax's glyph class mjx-c24) is a dollar sign that paired
    # with the wrong partner: e.g. $$...$$ written inside a list item, which dollarmath leaves as
    # text.
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
    read_the_page(soup, page)
    return page


def _overflow(el) -> str | None:
    return el.get("data-probe-overflow") or None


def read_the_page(soup: BeautifulSoup, page: PageReport) -> None:
    """The page as a reader sees it: code cells, what overflows, figures, output debris."""
    content = soup.select_one(".bd-article") or soup.body or soup
    for cell in content.select("div.cell"):
        source = cell.select_one(".cell_input pre")
        if source is None:
            continue
        lines = source.get_text().expandtabs().rstrip("\n").split("\n")
        while lines and not lines[-1].strip():
            lines.pop()
        page.code_cells.append(
            CodeCell(
                setup=not page.code_cells and lines[0].startswith(SETUP_CELL),
                lines=len(lines),
                long_lines=sum(len(line) > MAX_LINE for line in lines),
                folded=source.find_parent("details") is not None,
                listing="tag_listing" in (cell.get("class") or []),
                overflow=_overflow(source),
            )
        )
    for el in content.select(".cell_output pre, .cell_output .output.text_html"):
        if _overflow(el):
            page.output_overflow.append(f"{short(el.get_text(), 60)} ({_overflow(el)} px)")
    for el in content.select("pre, table"):
        if _overflow(el) and el.find_parent(class_=["cell_input", "cell_output"]) is None:
            kind = "table" if el.name == "table" else "code block"
            page.text_overflow.append(f"{kind}: {short(el.get_text(), 60)} ({_overflow(el)} px)")
    for el in content.find_all("mjx-container"):
        if _overflow(el):
            tex = el.get("data-probe-tex") or el.get_text()
            page.wide_math.append(f"{short(tex, 80)} ({_overflow(el)} px)")
    for img in content.find_all("img"):
        figure = img.find_parent("figure")
        caption = figure.find("figcaption") if figure is not None else None
        if caption is None:
            animation = img.find_parent(class_="animation")
            figure = animation.find_parent("figure") if animation is not None else None
            caption = figure.find("figcaption") if figure is not None else None
        page.figures.append(
            Figure(
                src=img.get("src") or "",
                alt=img.get("alt") or "",
                caption=None if caption is None else " ".join(caption.get_text().split()),
                shown=int(float(img.get("data-probe-shown") or 0)),
                size=int(float(img.get("data-probe-size") or 0)),
                animation=img.find_parent(class_="animation") is not None,
            )
        )
    for out in content.select(".cell_output"):
        out = copy.copy(out)
        for junk in out.select(".animation, script, style, img"):
            junk.decompose()
        text = out.get_text()
        for kind, pattern in DEBRIS.items():
            page.debris += [f"{kind}: {short(m.group(0), 60)}" for m in pattern.finditer(text)]
    prose = copy.copy(content)
    for junk in prose.select("script, style, pre, .cell_output"):
        junk.decompose()
    page.exercise_exercise = len(EXERCISE_EXERCISE.findall(prose.get_text(" ")))


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
    """The browser to drive: $CHROMIUM, else the first of chromium, chromium-browser,
    google-chrome on PATH."""
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
        f"--window-size={WINDOW},{SCREEN}",
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
    """The book's pages: each .html with its source in _sources/ (not the indices, the redirect,
    search)."""
    pages = []
    for path in html_dir.rglob("*.html"):
        page = path.relative_to(html_dir)
        source = glob.escape(str(page.with_suffix(""))) + ".*"  # _sources/book/intro.md, ...
        if not page.parts[0].startswith("_") and any((html_dir / "_sources").glob(source)):
            pages.append(str(page))
    return sorted(pages)


def is_notebook(html_dir: Path, page: str) -> bool:
    return (html_dir / "_sources" / page).with_suffix(".ipynb").exists()


def select_pages(pages: list[str], wanted: list[str] | None) -> list[str]:
    """The pages whose path contains one of ``wanted`` (all pages when it is None or empty)."""
    if not wanted:
        return pages
    chosen = [p for p in pages if any(w in p for w in wanted)]
    unknown = [w for w in wanted if not any(w in p for p in pages) and w != "search"]
    if unknown:
        raise ValueError(f"no page matches {unknown}; pages: {', '.join(pages)}")
    return chosen


def check_book(
    html_dir: Path,
    screenshots: Path | None = None,
    query: str = "discriminator",
    online: bool = False,
    chromium: str | None = None,
    jobs: int = 2,
    pages: list[str] | None = None,
    full: bool = False,
) -> dict[str, PageReport]:
    """Load every page of ``html_dir``, and its search page for ``query``; the reports by path.

    ``pages``: only the pages whose path contains one of these strings (and the search page only
    if "search" is one). ``full``: screenshot the whole page, one 1280x2000 tile per screenful
    (``name.png``, ``name-2.png``, ...). ``jobs`` browsers run at once, each with its own
    profile (a page costs seconds of CPU: MathJax).
    """
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found: install Debian's `chromium` or set $CHROMIUM")
    html_dir = Path(html_dir)
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
    targets = [(page, page) for page in select_pages(book_pages(html_dir), pages)]
    if not pages or "search" in pages:
        targets.append(("search.html", f"search.html?q={quote(query)}"))

    def visit(target: str, shot: Path | None) -> PageReport:
        for budget in (
            BUDGET_MS,
            4 * BUDGET_MS,
        ):  # a busy machine can need longer: one retry with more time
            with tempfile.TemporaryDirectory() as profile:
                report = parse_page(
                    load(base + target, chromium, Path(profile), shot, online, budget), target
                )
            if report.probed:
                break
        return report

    def check(page: str, target: str) -> PageReport:
        stem = None if screenshots is None else page.removesuffix(".html").replace("/", "__")
        shot = None if stem is None else screenshots / f"{stem}.png"
        if stem is not None:  # a screenshot left from an earlier run would pass for this one
            for old in [shot, *screenshots.glob(glob.escape(stem) + "-*.png")]:
                old.unlink(missing_ok=True)
        report = visit(target, shot)
        report.path = page
        report.screenshot = str(shot) if shot is not None and shot.exists() else None
        if full and stem is not None and "?" not in target:
            for k, top in enumerate(range(SCREEN, report.height, SCREEN), start=2):
                tile = screenshots / f"{stem}-{k}.png"
                visit(f"{target}?probe-scroll={top}", tile)
                if tile.exists():
                    report.more_screenshots.append(str(tile))
        return report

    with serve(html_dir) as base, ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(zip([page for page, _ in targets], pool.map(lambda t: check(*t), targets)))


def problems(
    html_dir: Path, reports: dict[str, PageReport], online: bool = False, strict: bool | None = None
) -> list[str]:
    """Every problem of every page, as ``page: problem`` lines; the search page must list results.

    ``strict``: the page rules apply to every page (True), to none (False), or to ``CONVERTED``.
    """
    lines = [
        f"{page}: {p}"
        for page, report in reports.items()
        for p in report.problems(
            notebook=is_notebook(Path(html_dir), page), online=online, strict=strict
        )
    ]
    if "search.html" in reports and not reports["search.html"].search_results:
        lines.append("search.html: no results listed")
    return lines


COUNT_COLUMNS = {  # the per-page table: column -> what it counts
    "cells": "code cells",
    "visible": "code cells not folded",
    "lines": "visible code lines",
    "long": f"visible code lines over {MAX_LINE} characters",
    "big": f"visible code cells over {MAX_CELL_LINES} lines (not tagged listing)",
    "scroll": "visible code cells that scroll sideways",
    "out wide": "output blocks, tables and code in the text wider than their box",
    "figures": "figures (animations not counted)",
    "small": f"figures and animations shown below {MIN_SCALE}x their size",
    "no alt": "figures without alt text",
    "no caption": "figures and animations without a caption",
    "math wide": "formulas wider than their box",
    "debris": "output debris items",
    "ex ex": '"Exercise Exercise"',
}


def count_table(reports: dict[str, PageReport]) -> str:
    """The per-page counts as a Markdown table, with a total row."""
    rows = {page: r.counts() for page, r in reports.items() if page != "search.html"}
    total = {key: sum(row[key] for row in rows.values()) for key in COUNT_COLUMNS}
    head = "| page | " + " | ".join(COUNT_COLUMNS) + " |"
    rule = "|---|" + "---:|" * len(COUNT_COLUMNS)

    def line(name, row):
        return f"| {name} | " + " | ".join(str(row[k]) for k in COUNT_COLUMNS) + " |"

    body = [
        line(page.removeprefix("book/").removesuffix(".html"), row) for page, row in rows.items()
    ]
    return "\n".join([head, rule, *body, line("**total**", total)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("html", type=Path, help="the built HTML folder, e.g. _build/html")
    parser.add_argument(
        "--screenshots", type=Path, default=None, help="folder for one PNG per page"
    )
    parser.add_argument(
        "--full", action="store_true", help="screenshot whole pages: name.png, name-2.png, ..."
    )
    parser.add_argument(
        "--pages",
        nargs="+",
        default=None,
        help="only the pages whose path contains one of these (e.g. 01_implicit intro search)",
    )
    parser.add_argument(
        "--all-rules",
        action="store_true",
        help="apply the page rules to every page, not only to the converted ones",
    )
    parser.add_argument("--counts", type=Path, default=None, help="save the count table here")
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
    try:
        reports = check_book(
            args.html,
            args.screenshots,
            args.query,
            args.online,
            jobs=args.jobs,
            pages=args.pages,
            full=args.full,
        )
    except ValueError as error:
        parser.error(str(error))
    for page, r in reports.items():
        extra = f"  results {len(r.search_results)}" if page == "search.html" else ""
        print(
            f"{page:45s} math {r.math:4d}  figures {r.output_images:3d}  "
            f"animations {len(r.animations)}"
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
    strict = True if args.all_rules else None
    for page, r in reports.items():
        print("".join(f"todo: {page}: {t}\n" for t in r.todo(strict)), end="")
    table = count_table(reports)
    print("\n" + table + "\n")
    print("".join(f"  {k}: {v}\n" for k, v in COUNT_COLUMNS.items()))
    if args.counts is not None:
        args.counts.write_text(table + "\n")
    found = problems(args.html, reports, args.online, strict)
    print("\n".join(found) if found else f"no problems on {len(reports)} pages")
    if args.screenshots is not None:
        print(f"screenshots: {args.screenshots.resolve()}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
