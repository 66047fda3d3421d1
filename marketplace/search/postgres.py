"""PostgreSQL full-text search: the default search on PostgreSQL.

- Matching: `search_vector @@ websearch_to_tsquery(...)` on a STORED generated tsvector
  (title A > brand B > category names C > description D), accents and apostrophes folded
  ("levis" finds Levi's, "cafe" finds café), the last word a prefix ("patag"). See pg_sql.
- Relevance: ts_rank_cd with those weights, then freshness, over the CANDIDATES freshest
  matches only, so a word found in 90% of the catalog costs the same as a rare one.
- Typos: when a query finds fewer than FEW_RESULTS and has a word no listing has, pg_trgm
  word similarity on the folded title and brand (GIN trigram indexes) finds the closest
  word: the page offers "Did you mean …?" and also shows what the corrected query finds.
- Facets, totals and pages: engine.DatabaseSearchBackend (bounded sample, capped count,
  keyset cursors); approximate facet counts are scaled by the planner's row estimate.
"""

import difflib
import json
import re
from collections import Counter

from django.db import connections, transaction
from django.db.models import Expression, Q, QuerySet

from marketplace.models import Listing
from marketplace.search import pg_sql
from marketplace.search.engine import DatabaseSearchBackend
from marketplace.search.text import fold, has_words, plain_words, prefix_last_word

MAX_TYPO_WORDS = 5
LOOK_ALIKES = 20  # listings read per unknown word to find its correction
# pg_trgm word similarity: "patagnoia" vs "patagonia" is 0.5 (the default threshold, 0.6,
# would miss it); below ~0.4 unrelated words start to match.
WORD_SIMILARITY = "0.45"
CORRECTION_RATIO = 0.7  # difflib ratio for a vocabulary word to replace a query word
_ORIGINAL_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")  # noqa: RUF001
_FOLDED_WORD = re.compile(r"[^\W_]+")


class PostgresSearchBackend(DatabaseSearchBackend):
    name = "postgres"

    def text_match(self, q: str) -> Q | None:
        if not has_words(q):
            return None
        return Q(pg_sql.text_match(q, prefix=prefix_last_word(q)))

    def relevance(self, q: str) -> Expression | None:
        return pg_sql.text_rank(q, prefix=prefix_last_word(q))

    def title_match(self, q: str) -> Q:
        return Q(pg_sql.title_match(q))

    def estimate(self, listings: QuerySet[Listing]) -> int:
        """The planner's row estimate (planning only, nothing is counted)."""
        plan = json.loads(listings.values("pk").explain(format="json"))
        if isinstance(plan, list):
            plan = plan[0]
        return int(plan["Plan"]["Plan Rows"])

    def typo_correction(self, q: str, listings: QuerySet[Listing]) -> str:
        """`q` with each word that no listing for sale has replaced by the closest word of
        titles and brands ("patagnoia" -> "Patagonia"), or "" when every word is known.

        One EXISTS per word (at most MAX_TYPO_WORDS; the last word, still being typed, as a
        prefix), then for each unknown word a few listings whose title or brand has a
        similar word (pg_trgm over the GIN trigram indexes, no sorting): the correction is
        the most similar word among them.
        """
        all_words = _query_words(q)
        typing = all_words[-1] if all_words and prefix_last_word(q) else None
        words = [word for word in all_words if len(word) >= 3][:MAX_TYPO_WORDS]
        unknown = [
            word
            for word in words
            if not listings.filter(pg_sql.text_match(word, prefix=word == typing)).exists()
        ]
        if not unknown:
            return ""
        rows: list[tuple[str, str]] = []
        with transaction.atomic(using=listings.db):
            with connections[listings.db].cursor() as cursor:
                # Local to this transaction (savepoint): the threshold the %> operator uses.
                cursor.execute(
                    "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                    [WORD_SIMILARITY],
                )
            for word in unknown:
                rows += listings.filter(pg_sql.trigram_match([word])).values_list("title", "brand")[
                    :LOOK_ALIKES
                ]
        return _corrected(q, unknown, rows)


def _query_words(q: str) -> list[str]:
    """The words the query needs, folded, split as the vocabulary is ("t-shirt": t, shirt)."""
    return _FOLDED_WORD.findall(" ".join(plain_words(q)))


def _corrected(q: str, unknown: list[str], rows: list[tuple[str, str]]) -> str:
    """`q` with each `unknown` word replaced by the most similar word of `rows` (titles and
    brands), as spelled there; "" when nothing is close enough."""
    spellings: dict[str, Counter[str]] = {}
    for title, brand in rows:
        for original in _ORIGINAL_WORD.findall(f"{brand} {title}"):
            folded = fold(original)
            if len(folded) >= 3:
                spellings.setdefault(folded, Counter())[original] += 1
    corrections: dict[str, str] = {}
    for word in unknown:
        best, best_ratio = "", 0.0
        for candidate in spellings:
            ratio = difflib.SequenceMatcher(None, word, candidate).ratio()
            if ratio > best_ratio:
                best, best_ratio = candidate, ratio
        if best_ratio >= CORRECTION_RATIO:
            corrections[word] = spellings[best].most_common(1)[0][0]
    if not corrections:
        return ""

    def replace(match: re.Match) -> str:
        key = " ".join(_FOLDED_WORD.findall(fold(match.group(0))))
        return corrections.get(key, match.group(0))

    corrected = _ORIGINAL_WORD.sub(replace, q)
    return corrected if corrected != q else ""
