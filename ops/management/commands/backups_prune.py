from django.core.management.base import BaseCommand

from ops.backups import backups_list, backups_prune


class Command(BaseCommand):
    help = (
        "Delete the backups in the private backups storage that the retention does not keep: "
        "the newest of each of the last BACKUP_KEEP_DAILY days and BACKUP_KEEP_WEEKLY weeks "
        "stay, and always the newest backup. `db_backup --prune` runs this after each backup."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Only list what would go.")

    def handle(self, *args, dry_run: bool = False, **options) -> None:
        total = len(backups_list())
        doomed = backups_prune(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for name in doomed:
            self.stdout.write(f"{verb} {name}")
        self.stdout.write(f"{total - len(doomed)} of {total} backups kept.")
