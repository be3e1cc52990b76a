"""Data tables for workbench lists: columns described in Python, rendered by one partial.

A view (or better, a small function beside it) builds a ``Table`` from a selector's rows::

    table = Table(
        columns=[
            Column("number", _("工单号"), link="detail_url"),
            Column("title", _("诉求")),
            Column("status", _("状态"), template="orders/cells/status.html"),
            Column("deadline", _("剩余时间"), template="web/cells/deadline.html"),
            Column("count", _("件数"), numeric=True),
        ],
        rows=page.object_list,
        caption=_("待签收"),
        empty_title=_("暂无待签收工单"),
    )

and the template includes ``{% include "web/partials/data_table.html" with table=table %}``.
A cell shows ``row.<key>`` (dotted paths and ``get_<field>_display`` work; callables are
called); ``template`` renders the cell with ``row``, ``value`` and ``column`` in its context;
``link`` names a row attribute holding the URL the cell links to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    numeric: bool = False
    template: str = ""
    link: str = ""
    # Hide on narrow screens (< 720 px): secondary columns such as channel or created time.
    secondary: bool = False
    css_class: str = ""

    def value(self, row: Any) -> Any:
        return resolve(row, self.key)


@dataclass
class Table:
    columns: Sequence[Column]
    rows: Iterable[Any]
    caption: str | Promise = ""
    empty_title: str | Promise = _("暂无数据")
    empty_hint: str | Promise = ""
    page: Page[Any] | None = None
    # The id of the wrapping element: htmx requests that re-render the table target it.
    dom_id: str = "data-table"
    row_key: str = "pk"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def row_list(self) -> list[Any]:
        if not isinstance(self.rows, list):
            self.rows = list(self.rows)
        return self.rows


def resolve(obj: Any, path: str) -> Any:
    """``a.b.c`` on objects or dicts; callables along the way are called."""
    value = obj
    for part in path.split("."):
        if value is None:
            return None
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
        if callable(value):
            value = value()
    return value
