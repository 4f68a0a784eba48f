"""How commands print rows: `--format table|csv|json|ndjson|parquet`, `--rows N|all`, `--uuids`.

Tables are for people: sizes in kB/MB (powers of 1000, as the query language reads them),
times in the local zone, uuid columns left out unless asked for, and values never cut in a
pipe — only on a terminal narrower than the table does the widest column lose its middle
(`/home/me/…/IMG_0001.jpg`), so the end of a path, its file name, stays readable. Rich draws
the table. The other formats are for programs: every column, raw numbers, times in ISO 8601
with their UTC offset, `\\n` line endings.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import shutil
import sys
from typing import TYPE_CHECKING, Any, Iterable

from core.query.display import local_time_text, number_text

if TYPE_CHECKING:  # pragma: no cover
    from core.query.result import Result

FORMATS = ("table", "csv", "json", "ndjson", "parquet")
TABLE_ROWS = 50            # rows a table shows unless --rows says otherwise
MIN_WIDTH = 8              # a column squeezed for a narrow terminal keeps this many characters
DEFAULT_ROWS = -1          # --rows not given (what the format suggests)
GAP = 3                    # characters between two table columns
_TIME_TYPES = ("time_ns", "time_iso")


def rows_option(text: str) -> int | None:
    """argparse type of --rows: a count >= 0, or `all` (None)."""
    if text.strip().lower() == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"wants a number of rows (0 or more) or 'all', "
                                         f"got {text!r}")
    return n


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """--format, --rows, --uuids and --output for a command that prints rows."""
    parser.add_argument("--format", "-f", choices=FORMATS, default="table",
                        help="table (default), csv, json, ndjson or parquet")
    parser.add_argument("--rows", "-n", type=rows_option, default=DEFAULT_ROWS, metavar="N|all",
                        help=f"rows to print (default: {TABLE_ROWS} in a table, all otherwise)")
    parser.add_argument("--uuids", action="store_true",
                        help="show uuid columns in a table (csv/json/parquet always have them)")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write to FILE instead of stdout (parquet to a terminal needs it)")


# ---- values ---------------------------------------------------------------------------------
def human_size(n: Any) -> str:
    """1234567 -> '1.2 MB' (powers of 1000, like the query language's kb/MB/GB)."""
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return "" if n is None else str(n)
    if abs(n) < 1000:
        return f"{int(n)} B"
    value = float(n)
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if abs(value) < 999.95 or unit == "PB":
            return f"{value:.1f} {unit}"
    return str(n)  # pragma: no cover


def _aware(v: Any) -> dt.datetime | None:
    """A result time as an aware datetime (naive ones are UTC); ISO text is parsed."""
    if isinstance(v, str):
        try:
            v = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(v, dt.datetime):
        return None
    return v if v.tzinfo is not None else v.replace(tzinfo=dt.timezone.utc)


def local_time(v: Any) -> str:
    t = _aware(v)
    if t is None:
        return "" if v is None else str(v)
    return local_time_text(t)


def _cell(v: Any, typ: str) -> str:
    if v is None:
        return ""
    if typ == "size":
        return human_size(v)
    if typ in _TIME_TYPES:
        return local_time(v)
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)
    if isinstance(v, float):
        return number_text(v)
    return str(v)


def _plain(v: Any, typ: str) -> Any:
    """The value programs get: numbers as numbers, times as ISO 8601 with offset."""
    if typ in _TIME_TYPES and v is not None:
        t = _aware(v)
        return t.isoformat() if t is not None else v
    return v


def middle_ellipsis(text: str, width: int) -> str:
    """Cut `text` to `width` characters by replacing its middle with '…' (ends stay)."""
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return text[:head] + "…" + text[len(text) - tail:]


def fit_widths(widths: list[int], room: int, squeezable: list[bool] | None = None) -> list[int]:
    """Column widths that fit in `room` characters (gaps included), squeezing the widest
    squeezable columns first and none below MIN_WIDTH (or its natural width, if smaller).
    Sizes and times are never squeezed: half a number is a wrong number."""
    out = list(widths)
    can = squeezable or [True] * len(out)
    avail = room - GAP * max(0, len(out) - 1)
    while sum(out) > avail:
        open_ = [i for i in range(len(out)) if can[i] and out[i] > MIN_WIDTH]
        if not open_:
            break                    # nothing left to squeeze: let the terminal wrap
        out[max(open_, key=lambda i: out[i])] -= 1     # the widest gives up one character
    return out


# ---- the formats ----------------------------------------------------------------------------
class Printed:
    """Where rows go: stdout (text or bytes) or --output FILE; knows if it is a terminal."""

    def __init__(self, output: str | None):
        self.path = output
        self.tty = output is None and sys.stdout.isatty()

    def text(self, data: str) -> None:
        if self.path is None:
            sys.stdout.write(data)
            sys.stdout.flush()
        else:
            with open(self.path, "w", encoding="utf-8", newline="") as f:
                f.write(data)

    def binary(self, data: bytes) -> None:
        if self.path is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            with open(self.path, "wb") as f:
                f.write(data)


def emit(result: Result, args: argparse.Namespace, *, explicit_columns: bool = False,
         nothing: str = "no rows match the query") -> None:
    """Print a query Result as args say (--format, --rows, --uuids, --output).

    `explicit_columns`: the query named its columns, so uuid columns it asked for are shown.
    `nothing`: what a table with no rows says instead (on stderr, as fd and rg say nothing on
    stdout): a bare header reads like a failure. Programs' formats stay valid when empty: a
    CSV header, `[]`, no lines."""
    fmt = args.format
    limit = args.rows if args.rows != DEFAULT_ROWS else (TABLE_ROWS if fmt == "table" else None)
    where = Printed(getattr(args, "output", None))
    if fmt == "parquet":
        if where.tty:
            raise SystemExit("vdfs: parquet is binary: write it with --output FILE or a pipe")
        import pyarrow.parquet as pq
        buf = io.BytesIO()
        pq.write_table(result.arrow().slice(0, len(result) if limit is None else limit), buf)
        where.binary(buf.getvalue())
        return
    if limit is None:
        tuples = result.tuples()
    else:                          # only the rows printed are read and converted
        tuples = result.head(limit)
    shown, total = len(tuples), result.known_len()
    more = total is None or shown < total
    count = f"at least {result.fetched_rows():,}" if total is None else f"{total:,}"
    columns, types = list(result.columns), list(result.types)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        for t in tuples:
            w.writerow([_csv_value(_plain(v, typ)) for v, typ in zip(t, types)])
        where.text(buf.getvalue())
    elif fmt in ("json", "ndjson"):
        dicts = [{c: _plain(v, typ) for c, v, typ in zip(columns, t, types)} for t in tuples]
        if fmt == "json":
            where.text(json.dumps(dicts, indent=1, default=str, ensure_ascii=False) + "\n")
        else:
            where.text("".join(json.dumps(d, default=str, ensure_ascii=False) + "\n"
                               for d in dicts))
    elif total == 0:
        where.text("")              # an --output FILE is still written, empty
        print(f"vdfs: {nothing}", file=sys.stderr)
    else:
        keep = list(range(len(columns)))
        if not (args.uuids or explicit_columns):
            keep = [i for i in keep if types[i] != "uuid"] or keep
        cells = [[_cell(t[i], types[i]) for i in keep] for t in tuples]
        right = [types[i] in ("size", "int", "float") for i in keep]
        squeeze = [types[i] in ("text", "json") for i in keep]
        width = shutil.get_terminal_size().columns if where.tty else None
        table = render_table([columns[i] for i in keep], cells, right, width=width,
                             color=where.tty, squeezable=squeeze,
                             marked=[columns[i] == "snippet" for i in keep])
        footer = f"({shown} of {count} rows; --rows all for every row)" if more else \
            f"({total:,} row{'s' * (total != 1)})"
        if where.tty:
            where.text(table + footer + "\n")
        else:
            where.text(table)
            if more:
                print(f"vdfs: {footer[1:-1]}", file=sys.stderr)
    if fmt != "table" and more:
        print(f"vdfs: printed {shown} of {count} rows", file=sys.stderr)


def _csv_value(v: Any) -> Any:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, ensure_ascii=False)
    return v


def _highlighted(snippet: str) -> Any:
    """A snippet as rich Text with its matched parts highlighted."""
    from rich.text import Text
    from vdfs_query.fts import split_marks
    text = Text()
    for part, hit in split_marks(snippet):
        text.append(part, style="bold black on yellow" if hit else "")
    return text


def render_table(headers: list[str], rows: Iterable[list[str]], right: list[bool] | None = None,
                 *, width: int | None = None, color: bool = False,
                 squeezable: list[bool] | None = None, marked: list[bool] | None = None) -> str:
    """A table as text lines ending in '\\n': full values, or squeezed with a middle ellipsis
    when `width` (a terminal's) is narrower than the table. In `marked` columns (a search's
    snippet) the part between « » is the match: highlighted in colour, kept marked in a pipe."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text
    rows = [list(r) for r in rows]
    right = right or [False] * len(headers)
    natural = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    widths = natural if width is None else fit_widths(natural, width, squeezable)
    table = Table(box=box.SIMPLE_HEAD if color else None, show_edge=False, pad_edge=False, padding=(0, 1),
                  header_style="bold" if color else "", show_footer=False)
    for h, w, r in zip(headers, widths, right):
        table.add_column(middle_ellipsis(h, w), justify="right" if r else "left",
                         no_wrap=True, min_width=w, max_width=w)
    marked = marked if color and marked else [False] * len(headers)
    for r in rows:
        table.add_row(*(_highlighted(middle_ellipsis(v, w)) if m else
                        Text(middle_ellipsis(v, w), justify="right" if j else "left")
                        for v, w, j, m in zip(r, widths, right, marked)))
    needed = sum(widths) + GAP * max(0, len(widths) - 1) + 1
    buf = io.StringIO()
    console = Console(file=buf, width=max(needed, width or 0), force_terminal=color,
                      color_system="standard" if color else None, highlight=False,
                      emoji=False, soft_wrap=False, legacy_windows=False)
    console.print(table)
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())
