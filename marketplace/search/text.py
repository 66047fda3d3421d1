"""What a shopper typed, read in plain Python (no database): shared by the search backends.

The syntax is PostgreSQL's websearch_to_tsquery: words must all match, "quoted phrases",
-exclusions, and `or` between alternatives. PostgreSQL parses it itself; the simple backend
and the did-you-mean use `parse()` and `plain_words()` below.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

# Dropped before matching, so "levis" finds "Levi's" (the same list as threadly_fold in SQL).
APOSTROPHES = "'`´ʼ’‘"  # noqa: RUF001 - the typographic ones are the point
_STRIP_APOSTROPHES = str.maketrans("", "", APOSTROPHES)
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case, accents and apostrophes removed: "Levi’s Café" -> "levis cafe"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_STRIP_APOSTROPHES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def lower_without_apostrophes(text: str) -> str:
    """What the simple (SQLite) backend compares: lower case, apostrophes removed, accents
    kept (SQLite can't fold them, so the query keeps them too)."""
    return text.translate(_STRIP_APOSTROPHES).lower()


def has_words(q: str) -> bool:
    """True when `q` holds something to search for (a letter or a digit), not only syntax
    such as quotes, minus signs or punctuation."""
    return bool(_WORD.search(q))


def prefix_last_word(q: str) -> bool:
    """Whether the last word is still being typed and should match as a prefix ("patag"
    finds Patagonia): yes unless the query ends with a closing quote."""
    stripped = q.rstrip()
    return bool(stripped) and not stripped.endswith('"')


@dataclass(frozen=True)
class Term:
    """One word or "phrase" of a query, folded; `negated` for a -exclusion."""

    text: str
    negated: bool = False


def parse(q: str, *, normalise: Callable[[str], str] = fold) -> list[list[Term]]:
    """The query as alternatives: a list of groups joined by OR, each group a list of terms
    that must all hold. `a b or c` -> [[a, b], [c]] (as websearch_to_tsquery reads it).
    Terms are `normalise`d (folded by default)."""
    groups: list[list[Term]] = [[]]
    for match in _TOKEN.finditer(q):
        minus, phrase, word = match.groups()
        if word is not None:
            if word.lower() == "or" and groups[-1]:
                groups.append([])
                continue
            negated = word.startswith("-") and len(word) > 1
            text = normalise(word[1:] if negated else word)
        else:
            negated, text = bool(minus), normalise(phrase)
        text = " ".join(text.split())
        if has_words(text):
            groups[-1].append(Term(text=text, negated=negated))
    return [group for group in groups if group]


def plain_words(q: str, *, normalise: Callable[[str], str] = fold) -> list[str]:
    """The query's words that must match (not excluded, not the `or` operator), folded."""
    words = []
    for group in parse(q, normalise=normalise):
        for term in group:
            if not term.negated:
                words.extend(term.text.split())
    return words
