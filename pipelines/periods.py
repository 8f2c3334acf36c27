"""Reporting periods as DuckDB expressions over a UTC ``occurred_at`` TIMESTAMP.

ISO weeks follow ISO 8601 (``%G-W%V``): 2026-12-31 is in 2026-W53, 2027-01-01 too.
"""

from __future__ import annotations

PERIOD_SQL: dict[str, str] = {
    "week": "strftime({col}, '%G-W%V')",
    "month": "strftime({col}, '%Y-%m')",
    "quarter": "CAST(year({col}) AS VARCHAR) || '-Q' || CAST(quarter({col}) AS VARCHAR)",
}
PERIOD_TYPES = tuple(PERIOD_SQL)


def period_sql(period_type: str, column: str = "occurred_at") -> str:
    """The SQL expression labelling ``column`` with its period of ``period_type``."""
    try:
        return PERIOD_SQL[period_type].format(col=column)
    except KeyError:
        raise ValueError(f"period_type must be one of {', '.join(PERIOD_TYPES)}, not {period_type!r}") from None
