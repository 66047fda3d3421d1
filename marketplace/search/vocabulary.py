"""The vocabulary of the catalog (SearchWord): "Did you mean …?" corrects from its title and
brand words, and search reads how common each word is (pg_query).

PostgreSQL only: ts_stat() lists the lexemes of the search vectors of listings for sale,
with how many listings hold each anywhere (`documents`) and in the title (A) or brand (B)
(`listings`, 0 for words only found elsewhere); a trigram index on the table (GiST) finds the
title and brand words nearest to a misspelt one in well under a millisecond. A periodic job
(search_words_refresh, in the worker's schedule) rebuilds it: a word first used since the
last run is searchable at once but only offered as a correction after the next.
"""

from django.db import connection, transaction

from marketplace.models import SearchWord

REFRESH_SQL = """
INSERT INTO marketplace_searchword (word, listings, documents)
SELECT every.word, coalesce(titles.ndoc, 0), every.ndoc
FROM ts_stat('SELECT search_vector FROM marketplace_listing
              WHERE status = ''active'' AND deleted_at IS NULL') every
LEFT JOIN ts_stat('SELECT search_vector FROM marketplace_listing
                   WHERE status = ''active'' AND deleted_at IS NULL', 'ab') titles
       ON titles.word = every.word
WHERE length(every.word) BETWEEN 3 AND 100
"""
# The nearest words by pg_trgm distance (GiST index, nearest-neighbour order: no similarity
# threshold to tune, so transpositions such as "jakcet" still find "jacket"); far ones are
# dropped here and the caller judges the rest by edit similarity.
SIMILAR_SQL = """
SELECT word, listings FROM (
    SELECT word, listings, word <-> %s AS distance FROM marketplace_searchword
    WHERE listings > 0
    ORDER BY word <-> %s LIMIT %s
) nearest
WHERE distance < 0.9
"""


def vocabulary_refresh() -> int:
    """Rebuild the vocabulary from the listings for sale now, in one transaction (readers
    see the old or the new one). Returns the number of words; 0 on SQLite (unused there)."""
    if connection.vendor != "postgresql":
        return 0
    with transaction.atomic():
        SearchWord.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(REFRESH_SQL)
            return cursor.rowcount


def similar_words(word: str, *, limit: int = 5) -> list[tuple[str, int]]:
    """(word, listings) of the vocabulary nearest to `word` (already folded), best first."""
    if connection.vendor != "postgresql" or not word:
        return []
    with connection.cursor() as cursor:
        cursor.execute(SIMILAR_SQL, [word[:100], word[:100], limit])
        return [(found, listings) for found, listings in cursor.fetchall()]
