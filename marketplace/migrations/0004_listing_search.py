"""Search on the database.

Both vendors: `Listing.category_names` (the category path's names, denormalised for search,
backfilled here) and a LOWER(size) index that the size filter matches.

PostgreSQL only (a no-op on SQLite, the embedded default):
- the trusted extensions unaccent and pg_trgm;
- `threadly_fold(text)`: an IMMUTABLE wrapper around unaccent() that also drops apostrophes
  ("Levi’s" -> "Levis", "Café" -> "Cafe"), so it may be used in a generated column and in
  indexes; queries fold the user's text with the same function;
- `search_vector`: a STORED generated tsvector ('simple' configuration) weighting title (A),
  brand (B), category names (C) and description (D), with a GIN index;
- a text_pattern_ops index on LOWER(brand) (brand prefix suggestions);
- a GiST trigram index on SearchWord (nearest words by `<->`), the vocabulary of titles and brands that "Did you
  mean …?" corrects misspelt words from (pg_trgm's recipe for spelling suggestions: a table
  of distinct words is small, so a look-up costs next to nothing whatever the catalog's
  size), filled here. Both vendors get the table; SQLite leaves it empty.
The search indexes are partial on what can be for sale (status active, not deleted), like
`listing_active_newest`: every search filters on that.
"""

from django.db import migrations, models
from django.db.models.functions import Lower

FOR_SALE = "status = 'active' AND deleted_at IS NULL"

FOLD_FUNCTION = r"""
DO $do$
DECLARE schema_name text;
BEGIN
  SELECT n.nspname INTO schema_name
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'unaccent';
  EXECUTE format(
    $f$CREATE OR REPLACE FUNCTION threadly_fold(text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
       AS $body$ SELECT translate(%I.unaccent(%L::regdictionary, $1), '''`´ʼ’‘', '') $body$$f$,
    schema_name, schema_name || '.unaccent');
END
$do$;
"""

SEARCH_VECTOR = """
ALTER TABLE marketplace_listing ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple'::regconfig, threadly_fold(coalesce(title, ''))), 'A')
 || setweight(to_tsvector('simple'::regconfig, threadly_fold(coalesce(brand, ''))), 'B')
 || setweight(to_tsvector('simple'::regconfig, threadly_fold(coalesce(category_names, ''))), 'C')
 || setweight(to_tsvector('simple'::regconfig, threadly_fold(coalesce(description, ''))), 'D')
) STORED
"""

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    FOLD_FUNCTION,
    SEARCH_VECTOR,
    f"CREATE INDEX listing_search ON marketplace_listing USING gin (search_vector) WHERE {FOR_SALE}",
    "CREATE INDEX listing_brand_prefix ON marketplace_listing "
    f"(lower(brand) text_pattern_ops) WHERE {FOR_SALE}",
    "CREATE INDEX searchword_trgm ON marketplace_searchword USING gist (word gist_trgm_ops)",
    # The vocabulary of what exists now (search_words_refresh keeps it current).
    "INSERT INTO marketplace_searchword (word, listings) SELECT word, ndoc FROM ts_stat("
    "'SELECT search_vector FROM marketplace_listing"
    " WHERE status = ''active'' AND deleted_at IS NULL', 'ab')"
    " WHERE length(word) BETWEEN 3 AND 100",
]

BACKWARD = [
    "DROP INDEX IF EXISTS searchword_trgm",
    "DROP INDEX IF EXISTS listing_brand_prefix",
    "DROP INDEX IF EXISTS listing_search",
    "ALTER TABLE marketplace_listing DROP COLUMN IF EXISTS search_vector",
    "DROP FUNCTION IF EXISTS threadly_fold(text)",
    # The extensions stay: other objects may use them, and they are harmless.
]


def _postgresql_only(statements: list[str]):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement, params=None)

    return run


def backfill_category_names(apps, schema_editor) -> None:
    """Set category_names on every listing: one UPDATE per category (set-based)."""
    Category = apps.get_model("marketplace", "Category")
    Listing = apps.get_model("marketplace", "Listing")
    db = schema_editor.connection.alias
    nodes = {c["id"]: c for c in Category.objects.using(db).values("id", "parent_id", "name")}
    for category_id in nodes:
        names, current, seen = [], nodes.get(category_id), set()
        while current is not None and current["id"] not in seen:
            seen.add(current["id"])
            names.append(current["name"])
            current = nodes.get(current["parent_id"])
        Listing.objects.using(db).filter(category_id=category_id).update(
            category_names=" ".join(reversed(names))
        )


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0003_report_moves_from_ops"),
    ]

    operations = [
        migrations.AddField(
            model_name="listing",
            name="category_names",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RemoveIndex(model_name="listing", name="listing_size"),
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(Lower("size"), name="listing_size_ci"),
        ),
        migrations.CreateModel(
            name="SearchWord",
            fields=[
                ("word", models.CharField(max_length=100, primary_key=True, serialize=False)),
                ("listings", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(backfill_category_names, migrations.RunPython.noop),
        migrations.RunPython(_postgresql_only(FORWARD), _postgresql_only(BACKWARD)),
    ]
