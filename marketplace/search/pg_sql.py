"""The PostgreSQL pieces of listing search, as ORM expressions (no query runs here).

Migration 0004_listing_search made them possible: `search_vector`, a STORED generated
tsvector (title A, brand B, category names C, description D, 'simple' configuration over
`threadly_fold()` = unaccent without apostrophes), with GIN indexes for it and for trigrams
of the folded title and brand.

The user's text is always a query *parameter*: websearch_to_tsquery() parses it (quotes,
-exclusion, `or`) and never raises on any input. The last word is made a prefix ("patag"
finds "patagonia") by rewriting the *parsed* tsquery's own text form, which PostgreSQL
produced and quoted itself, so no user text is ever spliced into tsquery syntax.
"""

from django.db.models import BooleanField, Expression, Field, FloatField

# websearch_to_tsquery over the folded query: one %s.
TSQUERY = "websearch_to_tsquery('simple'::regconfig, threadly_fold(%s))"
# ...with the last lexeme a prefix, unless it is an exclusion (!'word').
TSQUERY_PREFIX = (
    f"regexp_replace(({TSQUERY})::text, '(^|[^!])(''[^'']*'')(\\s*\\)*)$', '\\1\\2:*\\3')::tsquery"
)
# ...and every lexeme restricted to weight A (the title): for suggestions.
TSQUERY_PREFIX_TITLE = (
    f"regexp_replace(({TSQUERY_PREFIX})::text, '(''[^'']*'')(?::(\\*))?', '\\1:\\2A', 'g')::tsquery"
)
# ts_rank_cd weights, in the order {D, C, B, A}: description, category, brand, title.
RANK_WEIGHTS = "'{0.1, 0.2, 0.4, 1.0}'"


class ListingSQL(Expression):
    """A fragment of SQL about the listing table, with `{t}` standing for the table's alias
    in the query being compiled (so it also works inside subqueries, where Django renames
    tables), and %s placeholders for `params`."""

    def __init__(self, sql: str, params: list, output_field: Field) -> None:
        super().__init__(output_field=output_field)
        self.sql, self.params = sql, list(params)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.sql!r}, {self.params!r})"

    def get_group_by_cols(self):
        return [self]

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()
        return self.sql.replace("{t}", compiler.quote_name(alias)), self.params


def tsquery_sql(q: str, *, prefix: bool) -> str:
    return TSQUERY_PREFIX if prefix else TSQUERY


def text_match(q: str, *, prefix: bool) -> ListingSQL:
    """search_vector @@ the parsed query (uses the GIN index listing_search).

    With a prefix, `exact OR prefix` (the same rows: every exact match is a prefix match):
    PostgreSQL estimates a prefix's frequency poorly (a flat 2% when its statistics hold
    under 100 common words) but the typed word's well, and that estimate decides between
    reading the newest-first index and the GIN index.
    """
    if not prefix:
        return ListingSQL(f"{{t}}.search_vector @@ {TSQUERY}", [q], BooleanField())
    return ListingSQL(
        f"({{t}}.search_vector @@ {TSQUERY} OR {{t}}.search_vector @@ {TSQUERY_PREFIX})",
        [q, q],
        BooleanField(),
    )


def title_match(q: str) -> ListingSQL:
    """Like text_match (last word a prefix) but only words of the title count."""
    return ListingSQL(f"{{t}}.search_vector @@ {TSQUERY_PREFIX_TITLE}", [q], BooleanField())


def text_rank(q: str, *, prefix: bool) -> ListingSQL:
    """Relevance: cover density with the weights above (title > brand > category > text)."""
    return ListingSQL(
        f"ts_rank_cd({RANK_WEIGHTS}, {{t}}.search_vector, {tsquery_sql(q, prefix=prefix)})",
        [q],
        FloatField(),
    )
