from django.core.cache import cache
from django.core.management.base import CommandError

from core.audit import audit_log
from core.outage import DatabaseCommand


class Command(DatabaseCommand):
    help = (
        "Empty the WHOLE cache, including rate limits, login lock-outs, metrics and cached "
        "sessions. Needs --all to make sure you mean it; cache_clear is the gentle one."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", dest="all_", help="Really flush all.")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, all_: bool, dry_run: bool, **options) -> None:
        if not all_:
            raise CommandError("cache_flush empties everything: pass --all (or use cache_clear).")
        if dry_run:
            self.stdout.write("Dry run: would flush the whole cache.")
            return
        cache.clear()
        audit_log(action="ops.cache_flushed")
        self.stdout.write(self.style.WARNING("Flushed the whole cache."))
