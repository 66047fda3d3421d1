"""The background worker: runs queued tasks, or, with no queue, the periodic jobs inline.

With TASK_QUEUE_URL: an RQ worker on the queue (start as many as you like, on as many hosts):
it runs every task the site enqueues (emails, search indexing, live delivery, analytics) and
every periodic job `run_scheduler` enqueues. `--burst` works through what is queued, then exits.

Without TASK_QUEUE_URL tasks already run inline where they are enqueued, so there is nothing to
work through: the worker runs the periodic jobs (ops.jobs.SCHEDULE) itself, a tick a
minute, as one machine needs. Run exactly one such worker.
"""

import time

from django.core.management.base import CommandError
from redis.exceptions import RedisError

from core.outage import DatabaseCommand
from ops import jobs, queue, scheduler
from ops.worker import get_worker


class Command(DatabaseCommand):
    help = (
        "Work through the task queue (TASK_QUEUE_URL), or without one run the periodic jobs "
        "(holds, offers, refunds, order completion, alerts, backups, digests) inline."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--burst", action="store_true", help="Process what is queued (or one tick), then exit."
        )
        parser.add_argument(
            "--no-fork",
            action="store_true",
            help="Run each job in this process instead of a forked child (tests, debugging).",
        )
        parser.add_argument(
            "--once", action="store_true", help="Run every periodic job once, inline, and exit."
        )
        parser.add_argument(
            "--ticks",
            type=int,
            default=0,
            help="Without a queue: stop after this many minutes (0: run forever).",
        )

    def handle(self, *args, burst: bool, no_fork: bool, once: bool, ticks: int, **options) -> None:
        if once:
            ran = scheduler.run_tick(0)
            self.stdout.write(f"Ran {', '.join(ran)}.")
            return
        if queue.queue_enabled():
            self._work(burst=burst, fork=not no_fork)
        else:
            self.stdout.write(
                "No task queue (TASK_QUEUE_URL is not set): tasks run inline where they are "
                "enqueued; this worker runs the periodic jobs itself, a tick a minute."
            )
            self._inline(ticks=1 if burst else ticks)

    def _work(self, *, burst: bool, fork: bool) -> None:
        worker = get_worker(fork=fork)
        jobs.worker_upkeep(heartbeat=False)  # this host's pending incident lines first
        try:
            # with_scheduler: one of the workers (RQ's lock) moves deferred tasks to the queue.
            worker.work(burst=burst, with_scheduler=not burst, logging_level="WARNING")
        except RedisError as exc:
            raise CommandError(f"The task queue is unreachable: {exc}") from exc

    def _inline(self, *, ticks: int) -> None:
        tick = 0
        while not ticks or tick < ticks:
            started = time.monotonic()
            scheduler.run_tick(tick)
            tick += 1
            if not ticks or tick < ticks:
                time.sleep(max(0.0, scheduler.TICK_SECONDS - (time.monotonic() - started)))
