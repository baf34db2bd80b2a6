"""Sphinx extension for the book: number figures, exercises and tables per chapter ("Fig. 4.2").

The book's table of contents is not numbered (each chapter carries its syllabus number in its
title, ``# 4. The optimal discriminator``), so Sphinx numbers every captioned figure and every
exercise across the whole book: Exercise 1 to 47. This extension renumbers them within each
chapter, taking the chapter's number from its file name: the second exercise of
``book/04_optimal_discriminator`` becomes Exercise 4.2, and ``{ref}`` / ``{numref}`` links
follow. Pages without a number in their file name (the failure gallery) number from 1.

Enabled in ``_config.yml`` (``sphinx: extra_extensions: [ganlab._book_numbers]``); it lives in
the package so that every build of the book (instructor, student, tests) can import it.
"""

from __future__ import annotations

import re

CHAPTER = re.compile(r"(?:^|/)(\d+)_[^/]*$")  # book/04_optimal_discriminator -> 4


def chapter_number(docname: str) -> int | None:
    """The chapter number in a page's name (``book/04_x`` -> 4), or None."""
    match = CHAPTER.search(docname)
    return int(match.group(1)) if match else None


def renumber(fignumbers: dict[str, dict[str, dict[str, tuple[int, ...]]]]) -> list[str]:
    """Rewrite Sphinx's ``env.toc_fignumbers`` in place: ``(chapter, k)`` for the k-th item of
    each kind (figure, table, exercise, ...) on a page, in the page's order; return the pages
    whose numbers changed."""
    changed = []
    for docname, by_type in fignumbers.items():
        chapter = chapter_number(docname)
        prefix = () if chapter is None else (chapter,)
        new = {
            figtype: {
                node_id: (*prefix, k)
                for k, (node_id, _) in enumerate(
                    sorted(numbers.items(), key=lambda item: item[1]), start=1
                )
            }
            for figtype, numbers in by_type.items()
        }
        if new != by_type:
            fignumbers[docname] = new
            changed.append(docname)
    return changed


def _on_env_get_updated(app, env) -> list[str]:
    return renumber(env.toc_fignumbers)


def setup(app):
    # after Sphinx's own TocTreeCollector (priority 500) has assigned the book-wide numbers
    app.connect("env-get-updated", _on_env_get_updated, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
