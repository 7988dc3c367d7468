"""Tables that fit the terminal: ranked columns, shortened cells, the left-out ones named below.

Every column has a rank and may carry a short form of its cells (a run id cut to its start time,
a UUID to its first eight characters). Where the table is wider than the terminal, the short forms
are taken first, then the highest-ranked columns while they fit; what was left out is named in a
note under the table. ``wide`` keeps every column whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape
from rich.table import Table

MIN_COLUMNS = 3  # kept whatever the width


@dataclass
class Column:
    header: str
    cells: list[str]
    rank: int  # the lowest go first when the table does not fit
    short: list[str] | None = None  # the cells where the table does not fit whole

    @property
    def width(self) -> int:
        return max(len(self.header), *(len(c) for c in self.cells), 0)

    def shortened(self) -> Column:
        return Column(self.header, self.short, self.rank) if self.short is not None else self


def table_width(cols: list[Column]) -> int:
    return sum(c.width for c in cols) + 3 * len(cols) + 1  # padding and rules


def fit(cols: list[Column], width: int) -> tuple[list[Column], list[str]]:
    """The columns that fit ``width`` (short forms taken, then the highest ranks while they
    fit) in display order, and the headers of those left out, highest rank first."""
    if table_width(cols) <= width:
        return cols, []
    short = [c.shortened() for c in cols]
    kept: list[Column] = []
    for col in sorted(short, key=lambda c: -c.rank):
        if len(kept) < MIN_COLUMNS or table_width([*kept, col]) <= width:
            kept.append(col)
    ids = {id(c) for c in kept}
    dropped = [c.header for c in sorted(short, key=lambda c: -c.rank) if id(c) not in ids]
    return [c for c in short if id(c) in ids], dropped


def fitted_table(
    title: str,
    cols: list[Column],
    width: int | None,
    styles: dict[str, dict[str, str]] | None = None,
) -> tuple[Table, list[str]]:
    """The table of ``cols`` fitted to ``width`` (None: every column whole) and the notes to
    print under it; ``styles`` maps a header to a style per cell value."""
    shown, dropped = (cols, []) if width is None else fit(cols, width)
    table = Table(title=title)
    for col in shown:
        table.add_column(col.header, no_wrap=True)
    for row in zip(*(c.cells for c in shown), strict=True):
        cells = [escape(cell) for cell in row]
        for i, col in enumerate(shown):
            style = (styles or {}).get(col.header, {}).get(row[i])
            if style:
                cells[i] = f"[{style}]{cells[i]}[/]"
        table.add_row(*cells)
    if shown is cols:
        return table, []
    cut = [c.header for c in cols if c.short not in (None, c.cells) and c.header not in dropped]
    if dropped:
        text = f"left out to fit {width} columns: {', '.join(dropped)}"
        text += f"; shortened: {', '.join(cut)}" if cut else ""
    else:
        text = f"shortened to fit {width} columns: {', '.join(cut)}"
    return table, [f"{text} (--wide: all whole, --json: everything)"]


def print_fitted(
    console: Console,
    title: str,
    cols: list[Column],
    *,
    wide: bool = False,
    styles: dict[str, dict[str, str]] | None = None,
) -> None:
    """Print the fitted table of ``cols`` and its notes on ``console``."""
    table, notes = fitted_table(title, cols, None if wide else console.width, styles)
    width = console.width
    if wide:  # rich never prints wider than the console: widen it for this table
        console.width = max(width, table_width(cols))
    try:
        console.print(table)
    finally:
        console.width = width
    for note in notes:
        console.print(note, style="dim", highlight=False)
