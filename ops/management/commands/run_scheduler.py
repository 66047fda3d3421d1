"""The periodic scheduler of the task queue: RQ's cron, enqueueing each periodic job at its slot.

Needs TASK_QUEUE_URL. Run one per deployment, or two for redundancy: each job slot is claimed
in Redis before it is enqueued, so a job never runs twice for the same slot
(ops.scheduler.PeriodicScheduler). Without a queue, `run_worker` runs the jobs itself.
"""

from django.core.management.base import BaseCommand, CommandError
from redis.exceptions import RedisError

from ops import queue, scheduler


class Command(BaseCommand):
    help = "Enqueue the periodic jobs on their schedule (needs TASK_QUEUE_URL)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--list",
            action="store_true",
            dest="list_jobs",
            help="Print each job's schedule and exit.",
        )

    def handle(self, *args, list_jobs: bool, **options) -> None:
        if list_jobs:
            self.stdout.write(f"{scheduler.UPKEEP}: * * * * *")
            for job in scheduler.SCHEDULE:
                self.stdout.write(f"{job.command}: {job.cron}")
            return
        if not queue.queue_enabled():
            raise CommandError(
                "No task queue: set TASK_QUEUE_URL. Without one, run_worker runs the periodic "
                "jobs itself."
            )
        try:
            cron = scheduler.build_scheduler(queue.connection())
            self.stdout.write(f"Scheduling {len(cron.get_jobs())} periodic jobs.")
            cron.start()
        except RedisError as exc:
            raise CommandError(f"The task queue is unreachable: {exc}") from exc
