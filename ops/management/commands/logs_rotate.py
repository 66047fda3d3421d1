import gzip
import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone


class Command(BaseCommand):
    help = (
        "Archive and compress *.log files in LOG_DIR (into LOG_DIR/archive/, then truncate "
        "them) and delete archives older than --keep-days."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dir", help="Log directory (default LOG_DIR).")
        parser.add_argument("--keep-days", type=int, default=90)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, dir=None, keep_days: int, dry_run: bool, **options) -> None:
        log_dir = Path(dir) if dir else settings.LOG_DIR
        if not log_dir.is_dir():
            self.stdout.write(f"No log directory at {log_dir}; nothing to rotate.")
            return
        archive = log_dir / "archive"
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        rotated = 0
        for path in sorted(log_dir.glob("*.log")):
            if path.stat().st_size == 0:
                continue
            target = archive / f"{path.stem}-{stamp}.log.gz"
            if dry_run:
                self.stdout.write(f"would archive {path.name} -> {target.name}")
            else:
                archive.mkdir(exist_ok=True)
                with path.open("rb") as src, gzip.open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                # Truncate in place: processes holding the file open keep writing to it.
                with path.open("r+b") as handle:
                    handle.truncate(0)
            rotated += 1
        cutoff = (timezone.now() - timedelta(days=keep_days)).timestamp()
        expired = (
            [p for p in archive.glob("*.gz") if p.stat().st_mtime < cutoff]
            if archive.is_dir()
            else []
        )
        for path in expired:
            if dry_run:
                self.stdout.write(f"would delete {path.name}")
            else:
                path.unlink()
        verb = "Would rotate" if dry_run else "Rotated"
        self.stdout.write(f"{verb} {rotated} log files; {len(expired)} old archives removed.")
