"""A query for the search page, written so the planner sees its real cost (PostgreSQL).

One small query per search (`analyse`) returns pg_sql's reading of the user's text (the
tsquery text: compounds as one lexeme, the last word a prefix) and what the vocabulary
(SearchWord, title and brand words) knows about its words: how many listings use each, and
the most used words that begin the last one.

PostgreSQL estimates a prefix (`patag:*`) poorly, and that estimate decides between walking
the newest-first index and reading the matches through the GIN index; and GIN answers a
prefix slowly (it scans the matching entries into a bitmap). So the page's match names the
typed word and the vocabulary's words that begin it instead: `( 'patag' | 'patagonia' )`,
estimated from real frequencies and read as two plain GIN entries. When the prefix begins
more than COMPLETIONS - 1 words the prefix stays too (`( 'c':* | 'c' | 'cream' | … )`, the
same rows). The text is only rewritten token by token (PostgreSQL produced and quoted every
lexeme; vocabulary words are quoted here) and passed as a parameter. Ranking keeps the
prefix (`rank`): it reads no index.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection

from marketplace.search import pg_sql
from marketplace.search.text import fold

# Vocabulary words that begin the last word, named in the match for the planner's sake.
COMPLETIONS = 8
MIN_WORD = 3  # the vocabulary's shortest word (vocabulary.REFRESH_SQL)
TITLES, ANYWHERE = 1, 2  # positions of the counts in a completion (word, listings, documents)
# One round trip: the parse, the last word's completions, each parsed word's counts (listings
# with it in the title or brand, and anywhere), whether the vocabulary was ever filled and
# the planner's count of listings (pg_class.reltuples: -1 before the first ANALYZE).
ANALYSE_SQL = r"""
WITH parsed AS (SELECT {tsquery} AS query)
SELECT
    parsed.query,
    (SELECT coalesce(json_agg(json_build_array(c.word, c.listings, c.documents)), '[]')
       FROM (SELECT word, listings, documents FROM marketplace_searchword
              WHERE word LIKE %s ESCAPE '\'
              ORDER BY documents DESC, word LIMIT %s) c),
    (SELECT coalesce(json_object_agg(s.word, json_build_array(s.listings, s.documents)), '{{}}')
       FROM marketplace_searchword s
      WHERE s.word = ANY (ARRAY(
          SELECT m[1] FROM regexp_matches(parsed.query, '''([^'']*)''', 'g') m))),
    EXISTS (SELECT 1 FROM marketplace_searchword),
    (SELECT reltuples FROM pg_class WHERE oid = 'marketplace_listing'::regclass)
FROM parsed
"""
_TOKEN = re.compile(r"'(?:[^']|'')*'(?::[*A-D]+)?|<\d+>|<->|[&|!()]")
_LEXEME = re.compile(r"'((?:[^']|'')*)'(?::([*A-D]+))?")
_LAST_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")


@dataclass(frozen=True)
class Analysis:
    """A query as PostgreSQL reads it, in three tsquery texts ("" when nothing to match).

    `match` finds the listings (the prefix's completions named); `rank` scores them (the
    same rows, without the completions, which would count a word twice); `title` is `match`
    with every word restricted to the title (weight A, for suggestions). `terms`: the words
    that must be found (not excluded), the last flagged when it is a prefix; `alternatives`:
    the query has an `or`. `words`: the vocabulary's (listings, documents) per parsed word
    (words of 3+ letters; see SearchWord); `completions`: (word, listings, documents) of the
    vocabulary words beginning the last word, most used first (None: unknown, PostgreSQL
    parsed the last word unlike `last_word`); `vocabulary`: it was ever filled; `catalog`:
    about how many listings there are (0: unknown)."""

    match: str = ""
    rank: str = ""
    title: str = ""
    terms: tuple[tuple[str, bool], ...] = ()
    alternatives: bool = False
    words: dict[str, tuple[int, int]] = field(default_factory=dict)
    completions: tuple[tuple[str, int, int], ...] | None = ()
    vocabulary: bool = False
    catalog: int = 0

    def title_listings(self) -> int | None:
        """About how many listings have every term in their title or brand, from the
        vocabulary: the least of the terms' counts (a prefix counts the words it begins;
        words under 3 letters, which the vocabulary leaves out, don't count). 0: none has
        them. None when it can't tell: a vocabulary never filled, an `or`, no known word."""
        return self._least(TITLES, sum)

    def documents(self) -> int | None:
        """The same as title_listings for matches anywhere (title, brand, category names,
        description), a prefix counting its most used word ("skirt" and "skirts" are mostly
        in the same listings): about the matches of the rarest word, as of the vocabulary's
        last refresh."""
        return self._least(ANYWHERE, max)

    def _least(self, column: int, combine: Callable[[list[int]], int]) -> int | None:
        if not self.vocabulary or self.alternatives:
            return None
        counts = []
        for word, prefix in self.terms:
            if prefix and self.completions is not None:
                counts.append(combine([0, *(found[column] for found in self.completions)]))
            elif not prefix and len(word) >= MIN_WORD:
                counts.append(self.words.get(word, (0, 0))[column - 1])
        return min(counts) if counts else None

    def knows(self, word: str) -> bool | None:
        """Whether some listing's title or brand has `word` (as a prefix when it is the last
        term being typed); None when the vocabulary can't tell."""
        if not self.vocabulary:
            return None
        if self.terms and self.terms[-1] == (word, True):
            if self.completions is None:
                return None
            return any(listings for _word, listings, _documents in self.completions)
        return self.words.get(word, (0, 0))[0] > 0


def last_word(q: str) -> str:
    """The last word as the parser will see it, folded ("T-Shirt" -> "t-shirt")."""
    words = _LAST_WORD.findall(fold(q))
    return words[-1][:100] if words else ""


def analyse(q: str, *, prefix: bool) -> Analysis:
    """The page's reading of `q` (see the module docstring); one query."""
    last = last_word(q) if prefix else ""
    like = re.sub(r"([\\%_])", r"\\\1", last) + "%" if last else ""
    sql = ANALYSE_SQL.format(tsquery=pg_sql.tsquery_text_sql(prefix=prefix))
    with connection.cursor() as cursor:
        cursor.execute(sql, [q, like, COMPLETIONS])
        parsed, completions, words, filled, catalog = cursor.fetchone()
    if isinstance(completions, str):
        completions, words = json.loads(completions), json.loads(words)
    return build(
        parsed or "",
        last_word=last,
        completions=tuple((word, int(titles), int(every)) for word, titles, every in completions),
        words={word: (int(titles), int(every)) for word, (titles, every) in words.items()},
        vocabulary=bool(filled),
        catalog=max(0, int(catalog or 0)),
    )


def build(
    parsed: str,
    *,
    last_word: str = "",
    completions: tuple[tuple[str, int, int], ...] = (),
    words: dict[str, tuple[int, int]] | None = None,
    vocabulary: bool = False,
    catalog: int = 0,
) -> Analysis:
    """The Analysis of pg_sql's tsquery text `parsed` (pure: no database). The last lexeme
    is a prefix when pg_sql made it one (`:*`); `completions` are those of `last_word`."""
    tokens = _TOKEN.findall(parsed)
    if not tokens:
        return Analysis(words=words or {}, vocabulary=vocabulary, catalog=catalog)
    last = len(tokens) - 1
    while last > 0 and tokens[last] == ")":
        last -= 1
    typing = _is_lexeme(tokens[last]) and "*" in _flags(tokens[last])
    typing = typing and not _negated(tokens, last)
    match, title = list(tokens), [_weighted(token, "A") for token in tokens]
    known: tuple[tuple[str, int, int], ...] | None = ()
    if typing:
        word = _lexeme(tokens[last])
        known = completions if word == last_word else None
        # The typed word itself first: PostgreSQL estimates a whole word well, a prefix not.
        named = [word, *(c[0] for c in known or () if c[0] != word and c[0].startswith(word))]
        # Every vocabulary word beginning the prefix is named: drop the prefix itself. GIN
        # answers a prefix by scanning its entries into a bitmap (15 ms where the same words
        # named cost 1 ms at 100 000 listings); a word first used since the vocabulary's last
        # refresh is then found once typed whole, or after the refresh.
        complete = known is not None and 0 < len(known) < COMPLETIONS
        kept = [] if complete else [tokens[last]]
        kept_title = [] if complete else [title[last]]
        match[last] = "( " + " | ".join([*kept, *map(_quote, named)]) + " )"
        title[last] = "( " + " | ".join([*kept_title, *(_quote(w) + ":A" for w in named)]) + " )"
    terms = tuple(
        (_lexeme(token), typing and n == last)
        for n, token in enumerate(tokens)
        if _is_lexeme(token) and not _negated(tokens, n)
    )
    return Analysis(
        match=" ".join(match),
        rank=" ".join(tokens),
        title=" ".join(title),
        terms=terms,
        alternatives="|" in tokens,
        words=words or {},
        completions=known,
        vocabulary=vocabulary,
        catalog=catalog,
    )


def _is_lexeme(token: str) -> bool:
    return token.startswith("'")


def _flags(token: str) -> str:
    return token[token.rindex("'") + 1 :].lstrip(":")


def _lexeme(token: str) -> str:
    """The word of a lexeme token, unquoted (tsquery text doubles ' and escapes \\)."""
    match = _LEXEME.fullmatch(token)
    return re.sub(r"''|\\(.)", lambda m: m.group(1) or "'", match.group(1)) if match else ""


def _quote(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _weighted(token: str, weight: str) -> str:
    """A lexeme token restricted to `weight` (keeping a prefix mark); other tokens as is."""
    if not _is_lexeme(token):
        return token
    prefix = "*" if "*" in _flags(token) else ""
    return f"{token[: token.rindex("'") + 1]}:{prefix}{weight}"


def _negated(tokens: list[str], index: int) -> bool:
    """Whether the operand at `index` is excluded: `!'word'`, or inside `!( ... )`."""
    if index > 0 and tokens[index - 1] == "!":
        return True
    depth = 0
    for position in range(index - 1, -1, -1):
        if tokens[position] == ")":
            depth += 1
        elif tokens[position] == "(":
            if depth == 0 and position > 0 and tokens[position - 1] == "!":
                return True
            depth = max(0, depth - 1)
    return False
