import csv
import io
import json
import zipfile
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction
from django.utils import timezone
from tqdm import tqdm

from core.audit import audit_log
from core.outage import DatabaseCommand
from ops.dbtools import write_checksum

# What an emergency export holds; models of apps not installed yet are skipped.
EXPORTS = [
    "accounts.User",
    "accounts.Profile",
    "marketplace.Listing",
    "orders.Order",
    "orders.OrderItem",
    "orders.Payout",
    "orders.Refund",
]
NEVER_EXPORTED = {"password"}


class Command(DatabaseCommand):
    help = (
        "Emergency export: users, listings, orders and payouts as JSON and CSV in one zip "
        "archive (with a .sha256), for when the database must be read without Threadly."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--emergency", action="store_true", help="Required: export all.")
        parser.add_argument("--output", help="Zip file (default BACKUP_DIR/threadly-export-<ts>).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, emergency: bool, output=None, no_progress=False, **options) -> None:
        if not emergency:
            raise CommandError("db_export exports personal data: pass --emergency to confirm.")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        path = Path(output) if output else settings.BACKUP_DIR / f"threadly-export-{stamp}.zip"
        path.parent.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = {}
        failed: list[str] = []
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for label in EXPORTS:
                try:
                    model = apps.get_model(label)
                except LookupError:
                    self.stderr.write(f"skipped {label}: not installed")
                    continue
                try:
                    with transaction.atomic():  # a savepoint: one bad table can't stop the rest
                        counts[label] = self._export(archive, model, label, no_progress)
                except DatabaseError as exc:
                    self.stderr.write(f"FAILED {label}: {exc}".strip())
                    failed.append(label)
        write_checksum(path)
        audit_log(action="data.exported", path=str(path), counts=counts)
        for label, count in counts.items():
            self.stdout.write(f"{label:<22} {count:>8} rows")
        self.stdout.write(self.style.SUCCESS(f"Export written: {path}"))
        if failed:
            raise CommandError(f"Export incomplete, these failed: {', '.join(failed)}")

    def _export(self, archive: zipfile.ZipFile, model, label: str, no_progress: bool) -> int:
        fields = [f.attname for f in model._meta.concrete_fields if f.name not in NEVER_EXPORTED]
        rows = []
        queryset = model._base_manager.order_by("pk").values_list(*fields)
        total = queryset.count()
        for values in tqdm(
            queryset.iterator(chunk_size=2000), total=total, desc=label, disable=no_progress
        ):
            rows.append(dict(zip(fields, values, strict=True)))
        name = label.replace(".", "_").lower()
        archive.writestr(f"{name}.json", json.dumps(rows, cls=DjangoJSONEncoder, indent=1))
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_value(v) for k, v in row.items()})
        archive.writestr(f"{name}.csv", buffer.getvalue())
        return len(rows)


def _csv_value(value):
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder)
    return value
