"""A result of hundreds of thousands of rows shows as one page: the first N rows with the
total count and how to see more, converting only the rows shown, on both routes (SQLite rows,
DuckDB Arrow) and through the notebook's formatters."""
from __future__ import annotations

import re
import sys

import pytest

import core
from conftest import REPO

ENTRIES = 200_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from scale_build import build_library
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    path = tmp_path_factory.mktemp("big") / "big.vdfs"
    build_library(path, ENTRIES)
    lib = core.Library.open(path)
    yield lib
    lib.close()


def _body_rows(html: str) -> int:
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0].count("<tr>")


@pytest.mark.parametrize("route", ["sqlite", "duckdb"])
def test_a_big_result_shows_one_page_and_its_total(big, route):
    from core.query.display import DISPLAY_ROWS
    result = big.engine.run("entries select uuid, path, size, modified", route=route)
    assert result.route == route and len(result) == ENTRIES
    html = result._repr_html_()
    assert _body_rows(html) == DISPLAY_ROWS
    assert f"showing {DISPLAY_ROWS} of {ENTRIES} rows" in html
    text = repr(result)
    assert text.endswith(f"(20 of {ENTRIES} rows)") and len(text.splitlines()) == 2 + 20 + 1
    assert result._tuples is None          # nothing beyond the page was converted
    page = result.head(DISPLAY_ROWS)
    assert page == result.tuples()[:DISPLAY_ROWS]
    assert re.fullmatch(r"[0-9a-f-]{36}", page[0][0]) and page[0][3].tzinfo is not None


@pytest.mark.parametrize("route", ["sqlite", "duckdb"])
def test_the_notebook_shows_the_display_limit_of_a_big_result(big, route):
    from kernel_ext.config import settings
    from kernel_ext.formatters import result_html, result_text
    result = big.engine.run("entries select path, size", route=route)
    limit = settings().display_limit
    # both routes stream a listing this long: it is shown before the rest is fetched
    assert result.known_len() is None
    assert f"first {limit} of at least" in result_html(result)
    assert len(result) == ENTRIES
    html = result_html(result)
    assert _body_rows(html) == limit
    caption = (f"{ENTRIES} rows (showing the first {limit}; "
               "%config Vdfs.display_limit to see more)")
    assert caption in html
    assert result_text(result).splitlines()[0] == caption
    assert result._tuples is None
