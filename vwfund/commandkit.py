"""What plugin commands share: the App, output as text or JSON, tables, progress, owner-only files.

Plugins' click commands import this module (never the CLI shell itself): a command parses options, calls
one public library function that returns data, and hands that data to :func:`emit`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from vwfund.app import App
from vwfund.money import Money

pass_app = click.make_pass_decorator(App)


def to_jsonable(value: Any) -> Any:
    """Turn dataclasses, Money, Decimals and datetimes into JSON-safe values (amounts as exact strings)."""
    if isinstance(value, Money):
        return value.to_json()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "to_json"):
        return to_jsonable(value.to_json())
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump())
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def emit(app: App, data: Any, render: Callable[[Any], str] | None = None) -> None:
    """Print ``data``: as JSON with ``--json``, else through ``render`` (or as a simple listing)."""
    if app.json_output:
        click.echo(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False))
    elif render is not None:
        click.echo(render(data))
    else:
        click.echo(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False))


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A plain text table (no colour, fits a terminal and a log)."""
    if not rows:
        return "(nothing)"
    cols = list(columns or rows[0].keys())
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(out)


@contextlib.contextmanager
def progress(app: App, label: str, length: int | None = None) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal (silent in pipes and with --json); yields ``advance(n)``."""
    if not app.interactive or app.json_output or not sys.stderr.isatty():
        yield lambda n: None
        return
    bar: Any = click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)
    with bar:
        yield bar.update


def write_private(path: Path, data: str | bytes) -> Path:
    """Write a file readable by its owner only (exports hold personal data)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def open_private(path: Path, newline: str | None = "") -> Any:
    """Open a text file for writing, readable by its owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "w", encoding="utf-8", newline=newline)
