"""How the periodic jobs (ops.jobs) run: enqueued by RQ's cron scheduler, or inline on one machine.

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

from datetime import datetime

from django.db import connection
from redis import Redis
from rq.cron import CronJob, CronScheduler
from rq.utils import now

from ops.jobs import SCHEDULE, UPKEEP, run_job, worker_upkeep
from ops.queue import QUEUE_NAME
from ops.tasks import run_periodic_job

TICK_SECONDS = 60


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
        run_periodic_job.enqueue(self.name)


class PeriodicScheduler(CronScheduler):
    """RQ's CronScheduler with one claim per job and slot: RQ's own scheduler has no lock, so
    without it each running scheduler would enqueue every job."""

    def add(self, name: str, cron: str) -> CronJob:
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
