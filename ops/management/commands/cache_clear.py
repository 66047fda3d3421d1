from django.core.management.base import BaseCommand, CommandError

from ops.cachetools import clear_app_caches


class Command(BaseCommand):
    help = (
        "Clear the application caches (pages, fragments, data) but keep operational state: "
        "rate limits, login lock-outs, metrics, switches and sessions. See cache_flush --all."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")

    def handle(self, *args, dry_run: bool, **options) -> None:
        try:
            count = clear_app_caches(dry_run=dry_run)
        except NotImplementedError as exc:
            raise CommandError(f"{exc}; use cache_flush --all instead.") from exc
        verb = "Would clear" if dry_run else "Cleared"
        self.stdout.write(f"{verb} {count} cache entries.")
