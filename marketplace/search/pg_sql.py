"""The PostgreSQL pieces of listing search, as ORM expressions (no query runs here).

Migration 0004_listing_search made them possible: `search_vector`, a STORED generated
tsvector (title A, brand B, category names C, description D, 'simple' configuration over
`threadly_fold()` = unaccent without apostrophes), with GIN indexes for it and for trigrams
of the folded title and brand.

What a query means is decided here, in SQL: websearch_to_tsquery() parses the user's text
(quotes, -exclusion, `or`; it never raises), then its own text form is rewritten with
regular expressions (PostgreSQL produced and quoted every lexeme, so no user text is ever
spliced into tsquery syntax):

- a hyphenated word is its compound lexeme alone. The parser stores "T-shirt" as `t-shirt`,
  `t` and `shirt` and parses the query "t-shirt" as the phrase `'t-shirt' <-> 't' <-> 'shirt'`:
  the same rows as `'t-shirt'` (its parts always follow it), but the planner multiplies three
  frequencies (23% of the catalog looks like 1%) and every match needs a positions recheck.
  Compounds of two or three parts standing alone (not inside a longer quoted phrase);
- the last word, unless excluded or closed by a quote, is a prefix ("patag" finds Patagonia).

Every function here is IMMUTABLE, so the planner folds the expression to a constant
tsquery and estimates it from the column's statistics. pg_query adds hints for the planner
on top (the same rows) for the search page; the saved-search digest uses `text_match_sql`.
"""

from django.db.models import BooleanField, Expression, Field, FloatField

# websearch_to_tsquery over the folded query, as text: one %s.
TSQUERY = "websearch_to_tsquery('simple'::regconfig, threadly_fold(%s))::text"
# ...with compounds of three, then two parts as one lexeme (not inside a longer phrase).
TSQUERY_COMPOUNDS = (
    "regexp_replace(regexp_replace("
    f"{TSQUERY}, "
    r"'(^|[^>] )''([^''-]+)-([^''-]+)-([^''-]+)'' <-> ''\2'' <-> ''\3'' <-> ''\4''(?! <)', "
    r"'\1''\2-\3-\4''', 'g'), "
    r"'(^|[^>] )''([^''-]+)-([^''-]+)'' <-> ''\2'' <-> ''\3''(?! <)', '\1''\2-\3''', 'g')"
)
# ...and the last lexeme a prefix, unless it is an exclusion (!'word').
TSQUERY_PREFIX = (
    f"regexp_replace({TSQUERY_COMPOUNDS}, '(^|[^!])(''[^'']*'')(\\s*\\)*)$', '\\1\\2:*\\3')"
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


def tsquery_text_sql(*, prefix: bool) -> str:
    """SQL for the query's tsquery as text, with one %s for the user's text."""
    return TSQUERY_PREFIX if prefix else TSQUERY_COMPOUNDS


def text_match_sql(q: str, *, prefix: bool) -> ListingSQL:
    """search_vector @@ the query, all in SQL (no query runs to build it).

    With a prefix, `exact OR prefix` (the same rows: every exact match is a prefix match):
    PostgreSQL estimates a prefix's frequency poorly but the typed word's well.
    """
    exact = f"{{t}}.search_vector @@ ({TSQUERY_COMPOUNDS})::tsquery"
    if not prefix:
        return ListingSQL(exact, [q], BooleanField())
    return ListingSQL(
        f"({exact} OR {{t}}.search_vector @@ ({TSQUERY_PREFIX})::tsquery)", [q, q], BooleanField()
    )


def matches(tsquery: str, *, indexable: bool = True) -> ListingSQL:
    """search_vector @@ a tsquery text pg_query built from PostgreSQL's parse (the GIN index
    listing_search, or a filter while walking the newest-first index: the planner chooses
    from the lexemes' statistics). Not `indexable`: the same test as a function call, which
    no index answers (a filter on the rows another condition selects)."""
    if not tsquery:  # nothing PostgreSQL could search for (e.g. only symbols): no match
        return ListingSQL("FALSE", [], BooleanField())
    if not indexable:
        return ListingSQL("ts_match_vq({t}.search_vector, %s::tsquery)", [tsquery], BooleanField())
    return ListingSQL("{t}.search_vector @@ %s::tsquery", [tsquery], BooleanField())


def rank(tsquery: str) -> ListingSQL:
    """Relevance: cover density with the weights above (title > brand > category > text)."""
    if not tsquery:
        return ListingSQL("0.0", [], FloatField())
    return ListingSQL(
        f"ts_rank_cd({RANK_WEIGHTS}, {{t}}.search_vector, %s::tsquery)", [tsquery], FloatField()
    )
