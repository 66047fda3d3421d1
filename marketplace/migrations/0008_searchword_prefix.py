"""The vocabulary's words by prefix: search names the words that begin the last, still typed
word of a query (marketplace/search/pg_query.py: `word LIKE 'patag%'`). A pattern-ops index
answers that whatever the database's collation. PostgreSQL only (SQLite leaves the
vocabulary empty)."""

from django.db import migrations

FORWARD = (
    "CREATE INDEX IF NOT EXISTS searchword_prefix "
    "ON marketplace_searchword (word varchar_pattern_ops)"
)
BACKWARD = "DROP INDEX IF EXISTS searchword_prefix"


def _postgresql_only(statement: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0007_price_drop"),
    ]

    operations = [
        migrations.RunPython(_postgresql_only(FORWARD), _postgresql_only(BACKWARD)),
    ]
