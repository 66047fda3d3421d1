"""The background worker: runs the periodic operator commands on their schedule.

One loop for every deployment (Procfile `worker`, compose `worker`): expired checkout holds
and unpaid accepted offers every minute; unanswered offers, refunds that never reached the
gateway, alert checks and unread-message emails every 5 minutes; auto-completion of delivered
orders every 15 minutes; saved-search and new-follower digests every hour (at most one email of
each per member per day).
"""

import logging
import time

from django.core.management import call_command
from django.db import connection

from core import outage
from core.outage import DatabaseCommand
from ops import health
from ops.incidents import incidents_sync_pending

logger = logging.getLogger(__name__)

# (command, every N ticks of one minute, extra arguments)
SCHEDULE: list[tuple[str, int, tuple[str, ...]]] = [
    ("release_reservations", 1, ()),
    ("offers_expire", 5, ()),
    ("retry_refunds", 5, ()),
    ("ops_status", 5, ()),
    ("complete_orders", 15, ()),
    ("db_backup", 15, ("--if-due", "--prune")),
    # Catches up indexing that failed (no-op without Algolia); daily, and at each worker start.
    ("search_reindex", 1440, ()),
    ("saved_searches_digest", 60, ()),  # the command decides who is due (one email a day)
    # Hourly, but each seller gets at most one digest a day (the command is idempotent).
    ("followers_digest", 60, ()),
    ("messages_notify_unread", 5, ()),
    ("search_words_refresh", 15, ()),
    ("listing_views_flush", 1, ()),  # buffered listing views -> Listing.view_count
]
TICK_SECONDS = 60


def run_tick(tick: int) -> list[str]:
    """Run the jobs due at `tick`; a failing job is logged and never stops the others.

    Each tick first records the worker's heartbeat, which /health's task-queue check reads.
    An unreachable database stops the worker instead (DatabaseCommand prints one line and
    exits 1), so its supervisor restarts it and nothing logs a traceback a minute per job.
    """
    try:
        health.worker_heartbeat()
    except Exception:
        logger.exception("worker: could not record the heartbeat")
    connection.ensure_connection()
    try:
        added = incidents_sync_pending()  # lines logged while the database was down
    except outage.DATABASE_ERRORS:
        raise
    except Exception:
        logger.exception("worker: could not add the pending incident lines")
    else:
        if added:
            logger.warning("worker: added %d incident line(s) logged during the outage", added)
    ran = []
    for name, every, args in SCHEDULE:
        if tick % every:
            continue
        try:
            call_command(name, *args, verbosity=0)
        except outage.DATABASE_ERRORS:
            raise
        except SystemExit as exit_:  # ops_status exits non-zero on CRIT; its alerts are sent
            logger.warning("worker: %s exited with %s", name, exit_.code)
        except Exception:
            logger.exception("worker: %s failed", name)
        ran.append(name)
    return ran


class Command(DatabaseCommand):
    help = (
        "Run the periodic jobs (reservations and offers, refunds, order completion, alerts, "
        "backups, digests, unread-message emails, search upkeep) in a loop."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="Run every job once and exit.")
        parser.add_argument(
            "--ticks", type=int, default=0, help="Stop after this many minutes (0: run forever)."
        )

    def handle(self, *args, once: bool, ticks: int, **options) -> None:
        if once:
            ran = run_tick(0)
            self.stdout.write(f"Ran {', '.join(ran)}.")
            return
        tick = 0
        while not ticks or tick < ticks:
            started = time.monotonic()
            run_tick(tick)
            tick += 1
            if not ticks or tick < ticks:
                time.sleep(max(0.0, TICK_SECONDS - (time.monotonic() - started)))
