"""The vocabulary tells search how common each word is.

- `SearchWord.documents`: the listings for sale with the word anywhere in their search vector
  (`listings` stays the title and brand count "Did you mean …?" uses; words found only in
  descriptions or category names join the table with listings = 0). Refilled here.
- An index on the words by prefix: search names the words that begin the last, still typed
  word of a query (marketplace/search/pg_query.py: `word LIKE 'patag%'`); a pattern-ops
  index answers that whatever the database's collation.
PostgreSQL only for the index and the refill (SQLite leaves the vocabulary empty).
"""

from django.db import migrations, models

FOR_SALE = "'SELECT search_vector FROM marketplace_listing WHERE status = ''active'' AND deleted_at IS NULL'"
FORWARD = [
    "CREATE INDEX IF NOT EXISTS searchword_prefix "
    "ON marketplace_searchword (word varchar_pattern_ops)",
    "DELETE FROM marketplace_searchword",
    "INSERT INTO marketplace_searchword (word, listings, documents) "
    "SELECT every.word, coalesce(titles.ndoc, 0), every.ndoc "
    f"FROM ts_stat({FOR_SALE}) every "
    f"LEFT JOIN ts_stat({FOR_SALE}, 'ab') titles ON titles.word = every.word "
    "WHERE length(every.word) BETWEEN 3 AND 100",
]
BACKWARD = [
    "DROP INDEX IF EXISTS searchword_prefix",
    "DELETE FROM marketplace_searchword WHERE listings = 0",
]


def _postgresql_only(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0008_listing_seller_pages"),
    ]

    operations = [
        migrations.AddField(
            model_name="searchword",
            name="documents",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(_postgresql_only(FORWARD), _postgresql_only(BACKWARD)),
    ]
