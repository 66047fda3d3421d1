from collections.abc import Iterator

from django.core.files.storage import default_storage
from tqdm import tqdm

from accounts.selectors import avatar_file_names
from core.outage import DatabaseCommand
from marketplace.services.retention import listing_file_names

# Folders of user uploads; anything else in storage (backups/, health/) is not ours to judge.
UPLOAD_FOLDERS = ("listings", "avatars")


def walk(folder: str) -> Iterator[str]:
    try:
        directories, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from walk(f"{folder}/{directory}")


def referenced_names() -> set[str]:
    return listing_file_names() | avatar_file_names()


class Command(DatabaseCommand):
    help = "Delete uploaded files (listings/, avatars/) that no database row references."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="List them, delete nothing.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, dry_run: bool, no_progress: bool, **options) -> None:
        # Read references first: a file uploaded after this point is newer than the listing.
        referenced = referenced_names()
        files = [name for folder in UPLOAD_FOLDERS for name in walk(folder)]
        orphans = [name for name in files if name not in referenced]
        for name in tqdm(orphans, desc="Orphans", disable=no_progress or dry_run, unit="file"):
            if dry_run:
                self.stdout.write(f"would delete {name}")
            else:
                default_storage.delete(name)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"{verb} {len(orphans)} of {len(files)} uploaded files.")
