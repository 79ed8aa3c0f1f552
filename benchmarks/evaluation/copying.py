"""COPY helpers: rows into the real tables in one round trip per table."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def copy_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows into a model's table (psycopg 3); returns how many.

    A NOT NULL column the generator does not name but the model gives a default (a field added since,
    e.g. a session's ``uid``) gets the model's default, computed per row (a ``uuid4`` is unique), so a new
    field with a default does not stop the benchmark."""
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    given = set(columns)
    defaulted = [
        f
        for f in model._meta.concrete_fields
        if f.column not in given
        and not f.primary_key
        and not f.null
        and f.has_default()
        and f.db_default is NOT_PROVIDED
    ]
    connection.ensure_connection()
    names = ", ".join(f'"{c}"' for c in [*columns, *(f.column for f in defaulted)])
    n = 0
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            if defaulted:
                row = (*row, *(f.get_db_prep_save(f.get_default(), connection) for f in defaulted))
            copy.write_row(row)
            n += 1
    return n


def reset_sequences(models) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)


def stamps(values: np.ndarray) -> list[str | None]:
    """datetime64[s] (UTC) → ISO text PostgreSQL reads as timestamptz; NaT → NULL."""
    text = np.datetime_as_string(values, unit="s").tolist()
    return [None if t == "NaT" else t + "+00:00" for t in text]
