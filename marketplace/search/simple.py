"""The simple fallback search: the default on SQLite (`make run`, no services).

Honest about what it is: each word or "phrase" must be a substring of the title, brand,
category names or description (case-insensitive for ASCII, apostrophes ignored, so "levis"
finds Levi's; accents are not folded), -word excludes, `or` gives alternatives. Relevance is
a plain score (a word in the title counts more than in the brand, the brand more than the
category) then freshness. No typo tolerance and no "did you mean". The same filters,
facets, totals and cursors as PostgreSQL (engine.DatabaseSearchBackend); counts are exact
because they are cheap on small data.
"""

from django.db.models import Case, Expression, IntegerField, Q, QuerySet, Value, When
from django.db.models.lookups import Contains

from marketplace.models import Listing
from marketplace.search.engine import DatabaseSearchBackend
from marketplace.search.filtering import lower_without_apostrophes_sql, simple_text_match
from marketplace.search.text import has_words, lower_without_apostrophes, plain_words

# Score of a query word found in each column (a word counts once, where it scores most).
SCORES = (("title", 3), ("brand", 2), ("category_names", 1))


def _folded(column: str):
    return lower_without_apostrophes_sql(column)


class SimpleSearchBackend(DatabaseSearchBackend):
    name = "simple"

    def text_match(self, q: str) -> Q | None:
        return simple_text_match(q) if has_words(q) else None

    def relevance(self, q: str) -> Expression | None:
        scores = [
            Case(
                *(
                    When(Contains(_folded(column), word), then=Value(score))
                    for column, score in SCORES
                ),
                default=Value(0),
                output_field=IntegerField(),
            )
            for word in plain_words(q, normalise=lower_without_apostrophes)[:10]
        ]
        if not scores:
            return None
        total = scores[0]
        for score in scores[1:]:
            total = total + score
        return total

    def title_match(self, q: str) -> Q:
        words = plain_words(q, normalise=lower_without_apostrophes)[:10]
        if not words:
            return Q(pk__in=[])
        return Q(*(Contains(_folded("title"), word) for word in words))

    def estimate(self, listings: QuerySet[Listing]) -> int:
        return listings.count()
