"""PostgreSQL full-text search: the default search on PostgreSQL.

- Matching: `search_vector @@ <tsquery>` on a STORED generated tsvector (title A > brand B >
  category names C > description D), accents and apostrophes folded ("levis" finds Levi's,
  "cafe" finds café), hyphenated words as one word ("t-shirt"), the last word a prefix
  ("patag"). The tsquery is PostgreSQL's own parse, rewritten so the planner estimates it
  well: see pg_query (one small query per search) and pg_sql.
- Relevance: ts_rank_cd with those weights, then freshness, over the CANDIDATES freshest
  matches only, so a word found in 90% of the catalog costs the same as a rare one.
- Typos: when a query finds fewer than FEW_RESULTS and has a word no listing has, the
  vocabulary of titles and brands (SearchWord, pg_trgm similarity on its GIN trigram index)
  gives the closest word: the page offers "Did you mean …?" and also shows what the
  corrected query finds.
- Facets, totals and pages: engine.DatabaseSearchBackend (bounded sample, capped count,
  keyset cursors); approximate facet counts are scaled by the planner's row estimate. How the
  sample is read (`plan`) follows the vocabulary's counts of every word (SearchWord.documents).
"""

import difflib
import json
import re

from django.db.models import Expression, Q, QuerySet

from marketplace.models import Listing
from marketplace.search import pg_sql
from marketplace.search.base import ListingFilters, SearchPage, Suggestion
from marketplace.search.engine import (
    PLANNER,
    RARE,
    RECENT,
    RECENT_FIRST,
    DatabaseSearchBackend,
)
from marketplace.search.facets import SAMPLE_SIZE
from marketplace.search.pg_query import Analysis, analyse
from marketplace.search.text import fold, has_words, plain_words, prefix_last_word
from marketplace.search.vocabulary import similar_words

MAX_TYPO_WORDS = 5
RARE_WORDS = 2000  # fewer listings than this with the words: read them through the GIN index
# Of the vocabulary's trigram look-alikes, a word replaces a query word only this alike by
# edit similarity (difflib): "patagnoia"/"patagonia" 0.89, "lev"/"levis" 0.75.
CORRECTION_RATIO = 0.7
_ORIGINAL_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")  # noqa: RUF001
_FOLDED_WORD = re.compile(r"[^\W_]+")


class PostgresSearchBackend(DatabaseSearchBackend):
    name = "postgres"

    def __init__(self) -> None:
        self._analyses: dict[str, Analysis] = {}

    def search(self, filters: ListingFilters, *, cursor: str = "", per_page: int) -> SearchPage:
        self._analyses = {}  # read the vocabulary afresh for each search
        return super().search(filters, cursor=cursor, per_page=per_page)

    def suggest(self, q: str, *, limit: int) -> tuple[Suggestion, ...]:
        self._analyses = {}
        return super().suggest(q, limit=limit)

    def analysis(self, q: str) -> Analysis:
        """pg_query.analyse(q), once per query text within one search or suggest call."""
        if q not in self._analyses:
            self._analyses[q] = analyse(q, prefix=prefix_last_word(q))
        return self._analyses[q]

    def text_match(self, q: str) -> Q | None:
        if not has_words(q):
            return None
        return Q(pg_sql.matches(self.analysis(q).match))

    def text_scan(self, q: str) -> Q | None:
        """The match as a function call (ts_match_vq, what @@ runs): the GIN index only
        answers the operator, so the planner walks the published_at range it is given."""
        if not has_words(q):
            return None
        return Q(pg_sql.matches(self.analysis(q).match, indexable=False))

    def relevance(self, q: str) -> Expression | None:
        if not has_words(q):
            return None
        return pg_sql.rank(self.analysis(q).rank)

    def title_match(self, q: str) -> Q:
        return Q(pg_sql.matches(self.analysis(q).title))

    def title_matches_rare(self, q: str) -> bool | None:
        """From the vocabulary's counts: None if no listing's title or brand has the words,
        True under RARE_WORDS listings (the GIN index then beats walking the newest-first
        index until a few matches turn up), False otherwise or when unknown."""
        count = self.analysis(q).title_listings()
        if count is None:
            return False
        if count == 0:
            return None
        return count < RARE_WORDS

    def plan(self, q: str) -> str:
        """RARE when fewer than RARE_WORDS listings have the words anywhere, by the vocabulary
        (a word it doesn't hold is new since its last refresh: rare). PostgreSQL's estimate
        of a word it has no statistics for can be far too high, and it would then walk the
        whole newest-first index looking for it. RECENT_FIRST for several words: PostgreSQL
        multiplies their frequencies as if unrelated ("skirt jacket": 0.7% estimated, none
        found; "forest green": 2% estimated, 14% found). Otherwise (one word, or a vocabulary
        never filled) the planner decides."""
        analysis = self.analysis(q)
        documents = analysis.documents()
        if documents is not None and documents < RARE_WORDS:
            return RARE
        if documents is not None and len({word for word, _prefix in analysis.terms}) > 1:
            # Even if every listing with the rarest word matched, would the RECENT newest
            # hold a whole sample? If not, looking there first is wasted.
            whole_sample = (SAMPLE_SIZE + 1) * analysis.catalog
            if documents * RECENT < whole_sample:
                return RARE
            return RECENT_FIRST
        return PLANNER

    def catalog_size(self) -> int:
        """pg_class.reltuples of the listings, read by the last analysis (0: unknown)."""
        return max((analysis.catalog for analysis in self._analyses.values()), default=0)

    def estimate(self, listings: QuerySet[Listing]) -> int:
        """The planner's row estimate (planning only, nothing is counted)."""
        plan = json.loads(listings.values("pk").explain(format="json"))
        if isinstance(plan, list):
            plan = plan[0]
        return int(plan["Plan"]["Plan Rows"])

    def typo_correction(self, q: str, listings: QuerySet[Listing]) -> str:
        """`q` with each word that no listing for sale has replaced by the most similar word
        of the titles and brands ("patagnoia" -> "patagonia"), or "" when every word is
        known or nothing is close enough.

        A word is unknown when the vocabulary has no listing with it (the last word, still
        being typed, as a prefix): the query's analysis already says; when the vocabulary
        can't tell, an EXISTS asks the listings. Then one nearest-words look-up per unknown
        word (at most MAX_TYPO_WORDS).
        """
        analysis = self.analysis(q)
        all_words = _query_words(q)
        typing = analysis.terms[-1][0] if analysis.terms and analysis.terms[-1][1] else None
        words = [word for word in all_words if len(word) >= 3][:MAX_TYPO_WORDS]
        corrections: dict[str, str] = {}
        for word in words:
            if word in corrections:
                continue
            known = analysis.knows(word)
            if known is None:
                match = pg_sql.text_match_sql(word, prefix=word == typing)
                known = listings.filter(match).exists()
            if known:
                continue
            best = _closest(word, similar_words(word))
            if best:
                corrections[word] = best
        if not corrections:
            return ""

        def replace(match: re.Match) -> str:
            key = " ".join(_FOLDED_WORD.findall(fold(match.group(0))))
            return corrections.get(key, match.group(0))

        corrected = _ORIGINAL_WORD.sub(replace, q)
        return corrected if corrected != q else ""


def _query_words(q: str) -> list[str]:
    """The words the query needs, folded, split as the vocabulary is ("t-shirt": t, shirt)."""
    return _FOLDED_WORD.findall(" ".join(plain_words(q)))


def _closest(word: str, candidates: list[tuple[str, int]]) -> str:
    """The candidate most like `word` by edit similarity (ties: the most used), or ""."""
    best, best_key = "", (CORRECTION_RATIO, 0)
    for candidate, listings in candidates:
        ratio = difflib.SequenceMatcher(None, word, candidate).ratio()
        if (ratio, listings) >= best_key:
            best, best_key = candidate, (ratio, listings)
    return best
