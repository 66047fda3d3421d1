"""manage.py search_reindex: configure the Algolia index, then replace its records with
every listing for sale now (atomically, through a temporary index), which also removes the
records of listings no longer for sale. Nightly in run_worker; by hand after a long outage."""

from django.core.management.base import CommandError

from core.outage import DatabaseCommand
from marketplace.exceptions import SearchEngineError
from marketplace.models import Listing
from marketplace.search import algolia_configured


class Command(DatabaseCommand):
    help = (
        "Configure the Algolia index and re-index every listing for sale (batches of 1 000). "
        "Does nothing when Algolia isn't configured."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--settings-only",
            action="store_true",
            help="Only apply the index settings (searchable attributes, facets, replicas).",
        )

    def handle(self, *args, settings_only: bool, **options) -> None:
        if not algolia_configured():
            self.stdout.write("Algolia is not configured (ALGOLIA_* keys); nothing to index.")
            return
        from marketplace.search import algolia

        verbose = options["verbosity"] >= 1
        try:
            algolia.configure_index()
            self.stdout.write(f"Configured {algolia.index_name()} and its sort replicas.")
            if settings_only:
                return
            total = Listing.objects.for_sale().count()

            def progress(done: int) -> None:
                if verbose:
                    self.stdout.write(f"Indexed {done}/{total} listings")

            done = algolia.reindex_all(progress=progress)
        except SearchEngineError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f"Re-indexed {done} listings for sale; other records removed.")
        )
