"""The machine-readable forms of every listing command: --json, -c/--csv, --no-header.

    output.add_options(parser)                 # on each listing command's parser
    output.emit(args, rows, FIELDS, lines)     # lines(): the text form, when neither is asked

A command hands over its records as dicts with fixed field names (README "Scripting"
lists them); `emit` prints them in the form asked: the text lines as before, JSON (a
list of records, or one object when the command describes one thing), or CSV (as
ipmitool -c and FreeIPMI --comma-separated-output: a header row of the field names,
unless --no-header, then one row per record). The standard library's json and csv
modules write them; this module only chooses.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable


def add_options(p) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true", help="JSON records (field names: README)")
    g.add_argument(
        "-c",
        "--csv",
        action="store_true",
        help="comma-separated values with a header row (as ipmitool -c)",
    )
    p.add_argument("--no-header", action="store_true", help="CSV without its header row")


def machine(args) -> bool:
    """True when the output is JSON or CSV (so the text form is not printed)."""
    return bool(getattr(args, "json", False) or getattr(args, "csv", False))


def cell(v) -> str:
    """A value as one CSV cell: '' for none, lists joined by ';', booleans true/false."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return ";".join(cell(x) for x in v)
    return str(v)


def write_csv(out, rows: Iterable[dict], fields: Iterable[str], header: bool = True) -> None:
    w = csv.writer(out, lineterminator="\n")
    fields = list(fields)
    if header:
        w.writerow(fields)
    for r in rows:
        w.writerow([cell(r.get(f)) for f in fields])


def emit(
    args,
    records: list[dict] | dict,
    fields: Iterable[str],
    lines: Callable[[], Iterable[str]],
    one_line: bool = False,
) -> None:
    """Print records as args asks: JSON or CSV (exactly the given fields, in their order),
    or the text lines(). one_line: the JSON on one line (JSON Lines, a sample of --watch)."""
    fields = list(fields)
    indent = None if one_line else 2
    if getattr(args, "json", False):
        if isinstance(records, dict):
            print(json.dumps({f: records.get(f) for f in fields}, indent=indent))
        else:
            print(json.dumps([{f: r.get(f) for f in fields} for r in records], indent=indent))
    elif getattr(args, "csv", False):
        rows = [records] if isinstance(records, dict) else records
        write_csv(sys.stdout, rows, fields, header=not args.no_header)
    else:
        for line in lines():
            print(line)
