"""Rebuild the search vocabulary ("Did you mean …?", suggestions); run_worker: every 15 min."""

from django.core.management.base import BaseCommand

from marketplace.search.vocabulary import vocabulary_refresh


class Command(BaseCommand):
    help = "Rebuild the vocabulary of titles and brands used for search spelling corrections."

    def handle(self, *args, **options) -> None:
        words = vocabulary_refresh()
        self.stdout.write(f"Search vocabulary: {words} word(s).")
