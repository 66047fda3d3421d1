"""The periodic jobs: the schedule table (SCHEDULE), the worker's minute upkeep and how one job
runs. Both ways of running them use this module: the queue's scheduler (ops.scheduler) enqueues
each as the task ops.tasks.run_periodic_job, and the inline worker (ops.scheduler.run_tick) runs
them itself. It imports neither, so the tasks, the scheduler and the worker all import it.
"""

import logging
from typing import NamedTuple

from django.core.management import call_command

from core import outage
from ops import health
from ops.incidents import incidents_sync_pending

logger = logging.getLogger(__name__)


class PeriodicJob(NamedTuple):
    command: str  # a manage.py command
    every: int  # minutes; divides 60, or is a whole number of hours that divides a day
    args: tuple[str, ...] = ()

    @property
    def cron(self) -> str:
        """The job's wall-clock slots as a cron expression (every scheduler computes the same)."""
        if self.every == 1:
            return "* * * * *"
        if self.every < 60:
            return f"*/{self.every} * * * *"
        hours = self.every // 60
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *" if hours < 24 else "0 3 * * *"


SCHEDULE: list[PeriodicJob] = [
    PeriodicJob("release_reservations", 1),
    PeriodicJob("offers_expire", 5),
    PeriodicJob("retry_refunds", 5),
    PeriodicJob("ops_status", 5),
    PeriodicJob("complete_orders", 15),
    PeriodicJob("db_backup", 15, ("--if-due", "--prune")),
    # Catches up indexing that failed (no-op without Algolia); daily, and at each inline start.
    PeriodicJob("search_reindex", 1440),
    PeriodicJob("saved_searches_digest", 60),  # the command decides who is due (one a day)
    # Hourly, but each seller gets at most one digest a day (the command is idempotent).
    PeriodicJob("followers_digest", 60),
    PeriodicJob("messages_notify_unread", 5),
    PeriodicJob("search_words_refresh", 15),
    PeriodicJob("listing_views_flush", 1),  # buffered listing views -> Listing.view_count
]
JOBS = {job.command: job for job in SCHEDULE}
# The minute task that proves the pipe works end to end: a scheduler enqueued it and a worker
# ran it (it writes the heartbeat /health reads), and it adds pending incident lines.
UPKEEP = "worker_upkeep"


def worker_upkeep(*, heartbeat: bool = True) -> int:
    """Record the worker's heartbeat (when asked) and add the incident lines this host logged
    while the database was down. Returns how many lines were added. Raises only the
    database's errors, so an inline worker stops and its supervisor restarts it."""
    if heartbeat:
        try:
            health.worker_heartbeat()
        except Exception:
            logger.exception("worker: could not record the heartbeat")
    try:
        added = incidents_sync_pending()  # lines logged while the database was down
    except outage.DATABASE_ERRORS:
        raise
    except Exception:
        logger.exception("worker: could not add the pending incident lines")
        return 0
    if added:
        logger.warning("worker: added %d incident line(s) logged during the outage", added)
    return added


def run_job(job: PeriodicJob) -> None:
    """Run one periodic job now. A failure is logged and never raised (the next slot retries);
    only a database error is raised. ops_status exits non-zero on CRIT (its alerts are sent)."""
    try:
        call_command(job.command, *job.args, verbosity=0)
    except outage.DATABASE_ERRORS:
        raise
    except SystemExit as exit_:
        logger.warning("worker: %s exited with %s", job.command, exit_.code)
    except Exception:
        logger.exception("worker: %s failed", job.command)
