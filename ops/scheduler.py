"""The periodic jobs and how they run: enqueued by RQ's cron scheduler, or inline on one machine.

Expired checkout holds, unpaid accepted offers and buffered listing views every minute;
unanswered offers, refunds that never reached the gateway, alert checks and unread-message
emails every 5 minutes; auto-completion of delivered orders, backups and search words every
15 minutes; saved-search and new-follower digests every hour (at most one email of each per
member per day); a search catch-up once a day.

With TASK_QUEUE_URL, `run_scheduler` (RQ's CronScheduler) enqueues each job as a task
(`ops.tasks.run_periodic_job`) at its wall-clock slot, and any `run_worker` runs it. Before
enqueueing, a scheduler claims the slot in Redis (SET NX), so two schedulers running at once
(a second host, a deploy overlap) never enqueue the same job twice. Without a queue,
`run_worker` runs the same jobs inline, a tick a minute (`run_tick`).
"""

import logging
from datetime import datetime
from typing import NamedTuple

from django.core.management import call_command
from django.db import connection
from redis import Redis
from rq.cron import CronJob, CronScheduler
from rq.utils import now

from core import outage
from ops import health
from ops.incidents import incidents_sync_pending
from ops.queue import QUEUE_NAME

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
TICK_SECONDS = 60


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


def run_tick(tick: int) -> list[str]:
    """Inline mode (no queue): run the jobs due at minute `tick`; a failing job is logged and
    never stops the others. Each tick first does the worker's upkeep (heartbeat, incidents).

    An unreachable database stops the worker instead (DatabaseCommand prints one line and
    exits 1), so its supervisor restarts it and nothing logs a traceback a minute per job.
    """
    worker_upkeep()
    connection.ensure_connection()
    ran = []
    for job in SCHEDULE:
        if tick % job.every:
            continue
        run_job(job)
        ran.append(job.command)
    return ran


# --- The queue's scheduler (RQ's cron) ----------------------------------------------------------
SLOT_KEY = "threadly:cron-slot:{name}:{slot}"


class PeriodicTaskCronJob(CronJob):
    """One periodic job on RQ's cron: enqueued as the Django task ops.tasks.run_periodic_job,
    so the worker runs it like any other task."""

    def enqueue(self, connection: Redis) -> None:  # type: ignore[override]
        from ops.tasks import run_periodic_job  # tasks import this module

        run_periodic_job.enqueue(self.name)


class PeriodicScheduler(CronScheduler):
    """RQ's CronScheduler with one claim per job and slot: RQ's own scheduler has no lock, so
    without it each running scheduler would enqueue every job."""

    def add(self, name: str, cron: str) -> CronJob:
        from ops.tasks import run_periodic_job

        job = PeriodicTaskCronJob(
            queue_name=QUEUE_NAME, func=run_periodic_job.func, cron=cron, name=name
        )
        self._cron_jobs.append(job)
        return job

    def claim(self, job: CronJob, slot: datetime) -> bool:
        """Whether this scheduler is the one to enqueue `job` for `slot` (first one wins)."""
        key = SLOT_KEY.format(name=job.name, slot=int(slot.timestamp()))
        # Kept a day: longer than any schedule's period, so a late scheduler can't re-claim it.
        return bool(self.connection.set(key, self.name, nx=True, ex=86400))

    def enqueue_jobs(self) -> list[CronJob]:
        """Enqueue each job whose slot has come and that no other scheduler claimed."""
        enqueued: list[CronJob] = []
        current = now()
        for job in self._cron_jobs:
            if not job.should_run():
                continue
            slot = job.next_enqueue_time or current
            try:
                if self.claim(job, slot):
                    job.enqueue(self.connection)
                    enqueued.append(job)
            except Exception:  # Redis away: log it, try the next slot, never stop scheduling
                self.log.exception("scheduler: could not enqueue %s", job.name)
            job.set_enqueue_time(current)
        return enqueued


def build_scheduler(redis: Redis, *, name: str = "") -> PeriodicScheduler:
    """A scheduler with every periodic job and the worker's minute upkeep registered."""
    scheduler = PeriodicScheduler(connection=redis, name=name)
    scheduler.add(UPKEEP, "* * * * *")
    for job in SCHEDULE:
        scheduler.add(job.command, job.cron)
    return scheduler
