"""Server-side prepared statements for the queries that are the same plan whatever their
parameters (a lookup by primary or unique key), on PostgreSQL.

Django sends every query as text for PostgreSQL to parse and plan. For the listing page's
query (the listing with its seller and profile: fifty columns, three tables) that is most of
its database time, and psycopg's client-side parameter binding adds more in Python. Inside
`prepared_statements()`, psycopg prepares each query on a connection's first run and then
executes it by name: PostgreSQL reuses its parse and, after five runs, a generic plan.

Only for queries whose plan can't depend on the values: a generic plan is chosen without
them, which for a filter on a skewed column (a brand, a search word) may be far worse than
the plan for the value at hand. Every other query is sent as before, never prepared.

On with settings.DB_PREPARED_STATEMENTS (PostgreSQL: server-side parameter binding, psycopg's
automatic preparing off). Behind a pooler in transaction mode that can't keep prepared
statements (PgBouncer before 1.21, or without `max_prepared_statements`), set
DB_PREPARED_STATEMENTS=0: the block then runs its queries plainly.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from django.db import connections


@contextmanager
def prepared_statements() -> Iterator[None]:
    """Run the block's queries as prepared statements where the database allows it."""
    with ExitStack() as stack:
        for connection in connections.all():
            if _prepares(connection.settings_dict):
                stack.enter_context(connection.execute_wrapper(_prepared))
        yield


def _prepares(settings_dict: dict[str, Any]) -> bool:
    options = settings_dict.get("OPTIONS", {})
    return (
        settings_dict["ENGINE"] == "django.db.backends.postgresql"
        and options.get("server_side_binding") is True
    )


def _prepared(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """psycopg prepares a query when its connection's threshold is reached (0: at once) and
    runs prepared ones by name; outside this wrapper the threshold is Django's None (never)."""
    database = context["connection"].connection
    threshold, database.prepare_threshold = database.prepare_threshold, 0
    try:
        return execute(sql, params, many, context)
    finally:
        database.prepare_threshold = threshold
