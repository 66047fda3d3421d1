"""Key lookups run as server-side prepared statements on PostgreSQL (core.prepared); nothing
else is ever prepared."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from core.prepared import _prepares, prepared_statements
from marketplace.tests.factories import ListingFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not _prepares(connection.settings_dict), reason="PostgreSQL with DB_PREPARED_STATEMENTS"
    ),
]


def prepared() -> list[str]:
    """The statements this connection has prepared."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def run(marker: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::int AS {marker}", [7])
        return cursor.fetchone()[0]


def test_a_query_inside_the_block_is_prepared_once_and_answers_as_before():
    with prepared_statements():
        assert run("inside_marker") == 7
        assert run("inside_marker") == 7
    assert len([s for s in prepared() if "inside_marker" in s]) == 1


def test_a_query_outside_the_block_is_never_prepared():
    for _ in range(10):  # psycopg's own threshold would prepare it after five runs
        assert run("outside_marker") == 7
    assert not [s for s in prepared() if "outside_marker" in s]


def test_the_listing_page_runs_its_listing_query_prepared(client):
    listing = ListingFactory()
    assert client.get(listing.get_absolute_url()).status_code == 200
    statements = [s for s in prepared() if 'FROM "marketplace_listing" INNER JOIN' in s]
    assert statements
    assert all('"marketplace_listing"."id" = $1' in s for s in statements)


SCRIPT = """
import django
django.setup()
from django.db import connection
from core.prepared import prepared_statements
with prepared_statements():
    for _ in range(2):
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::int AS switch_marker", [7])
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM pg_prepared_statements")
    print(connection.settings_dict["OPTIONS"].get("server_side_binding"), cursor.fetchone()[0])
"""


@pytest.mark.parametrize(("value", "expected"), [("1", "True 1"), ("0", "None 0")])
def test_db_prepared_statements_switches_it(value, expected):
    """DB_PREPARED_STATEMENTS=0 (a pooler that can't keep them): client-side binding, and the
    block prepares nothing."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "threadly.settings",
        "DEBUG": "1",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "DB_PREPARED_STATEMENTS": value,
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == expected
