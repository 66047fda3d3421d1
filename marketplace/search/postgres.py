"""PostgreSQL full-text search: the default search on PostgreSQL.

- Matching: `search_vector @@ websearch_to_tsquery(...)` on a STORED generated tsvector
  (title A > brand B > category names C > description D), accents and apostrophes folded
  ("levis" finds Levi's, "cafe" finds café), the last word a prefix ("patag"). See pg_sql.
- Relevance: ts_rank_cd with those weights, then freshness, over the CANDIDATES freshest
  matches only, so a word found in 90% of the catalog costs the same as a rare one.
- Typos: when a query finds fewer than FEW_RESULTS, pg_trgm word similarity on the folded
  title and brand (GIN trigram indexes) adds look-alikes and offers "Did you mean …?".
- Facets, totals and pages: engine.DatabaseSearchBackend (bounded sample, capped count,
  keyset cursors); approximate facet counts are scaled by the planner's row estimate.
"""

import difflib
import json
import re
from collections import Counter

from django.db import connections, transaction
from django.db.models import Q, QuerySet

from marketplace.models import Listing
from marketplace.search import pg_sql
from marketplace.search.engine import DatabaseSearchBackend
from marketplace.search.text import fold, has_words, parse, plain_words, prefix_last_word

TYPO_LIMIT = 200
MAX_TYPO_WORDS = 5
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

    def relevance(self, q: str) -> list:
        return [pg_sql.text_rank(q, prefix=prefix_last_word(q)).desc()]

    def title_match(self, q: str) -> Q:
        return Q(pg_sql.title_match(q))

    def estimate(self, listings: QuerySet[Listing]) -> int:
        """The planner's row estimate (planning only, nothing is counted)."""
        plan = json.loads(listings.values("pk").explain(format="json"))
        if isinstance(plan, list):
            plan = plan[0]
        return int(plan["Plan"]["Plan Rows"])

    def typo_matches(self, q: str, listings: QuerySet[Listing]) -> tuple[list[int], str]:
        """Listings whose title or brand has words like the query's (trigram word similarity
        over the GIN trigram indexes), most similar first, and the query with each unknown
        word replaced by the closest word of those listings ("patagnoia" -> "Patagonia").

        Only when some word of the query is unknown to those listings (a real typo, not a
        precise query with few results), and never listings the query excludes (-word).
        """
        words = [word for word in _query_words(q) if len(word) >= 3][:MAX_TYPO_WORDS]
        if not words:
            return [], ""
        for group in parse(q):
            for term in group:
                if term.negated:
                    listings = listings.exclude(pg_sql.text_match(term.text, prefix=False))
        with transaction.atomic(using=listings.db):
            with connections[listings.db].cursor() as cursor:
                # Local to this transaction (savepoint): the threshold the %> operator uses.
                cursor.execute(
                    "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                    [WORD_SIMILARITY],
                )
            rows = list(
                listings.filter(pg_sql.trigram_match(words))
                .annotate(_similarity=pg_sql.trigram_similarity(words))
                .order_by("-_similarity", "-published_at", "-id")
                .values_list("pk", "title", "brand")[:TYPO_LIMIT]
            )
        corrected = _corrected(q, rows)
        if not corrected:
            return [], ""
        return [pk for pk, _title, _brand in rows], corrected


def _query_words(q: str) -> list[str]:
    """The words the query needs, folded, split as the vocabulary is ("t-shirt": t, shirt)."""
    return _FOLDED_WORD.findall(" ".join(plain_words(q)))


def _corrected(q: str, rows: list[tuple[int, str, str]]) -> str:
    """`q` with each word that none of `rows` contains replaced by their closest word, as
    spelled there; "" when nothing changes. The last word, still being typed, is known when
    it begins a word of `rows`."""
    spellings: dict[str, Counter[str]] = {}
    for _pk, title, brand in rows:
        for original in _ORIGINAL_WORD.findall(f"{brand} {title}"):
            folded = fold(original)
            if len(folded) >= 3:
                spellings.setdefault(folded, Counter())[original] += 1
    words = _query_words(q)
    corrections: dict[str, str] = {}
    for position, word in enumerate(words):
        if word in spellings or word in corrections or len(word) < 3:
            continue
        typing = position == len(words) - 1 and prefix_last_word(q)
        if typing and any(known.startswith(word) for known in spellings):
            continue
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
