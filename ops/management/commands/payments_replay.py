from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.management.base import CommandError
from django.utils import timezone
from tqdm import tqdm

from core.audit import audit_log
from core.outage import DatabaseCommand

if TYPE_CHECKING:
    from orders.payments.events import GatewayEvent


def undelivered_events(*, days: int) -> "list[GatewayEvent]":
    """The gateway's events of the last `days` days whose webhook delivery failed, oldest
    first, as our own events (orders.payments.events)."""
    from orders.exceptions import IntegrationError
    from orders.payments import get_gateway

    try:
        return list(get_gateway().undelivered_events(since=timezone.now() - timedelta(days=days)))
    except IntegrationError as exc:
        raise CommandError(f"Stripe refused the events list: {exc.context}") from exc


class Command(DatabaseCommand):
    help = (
        "Fetch the Stripe events whose webhook delivery failed (last --days, default 30) and "
        "apply them through the same idempotent code as the payments webhook."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true", help="List them, apply nothing.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, days: int, dry_run: bool, no_progress: bool, **options) -> None:
        if not settings.STRIPE_SECRET_KEY:
            raise CommandError("STRIPE_SECRET_KEY is not set: there is no Stripe to replay from.")
        from orders.services.webhooks import payment_event_apply

        events = undelivered_events(days=days)
        if dry_run:
            for event in events:
                self.stdout.write(f"would apply {event.event_id} {event.event_type}")
            self.stdout.write(f"Dry run: {len(events)} undelivered events.")
            return
        applied = replayed = failed = 0
        for event in tqdm(events, desc="Replaying", disable=no_progress, unit="event"):
            try:
                if payment_event_apply(event=event):
                    applied += 1
                else:
                    replayed += 1
            except Exception as exc:
                failed += 1
                self.stderr.write(f"FAILED {event.event_id} ({event.event_type}): {exc}")
        audit_log(
            action="payments.replayed",
            days=days,
            applied=applied,
            already_applied=replayed,
            failed=failed,
        )
        self.stdout.write(
            f"{len(events)} undelivered events: {applied} applied, "
            f"{replayed} already applied, {failed} failed."
        )
        if failed:
            raise SystemExit(1)
