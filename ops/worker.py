"""The worker classes Threadly runs on the task queue (ops.queue): RQ's, with the database
connections kept out of forked jobs, analytics flushed after each job, and the worker's own
upkeep (ops.jobs.worker_upkeep) run with RQ's maintenance. `run_worker` starts one."""

import django_rq
import django_rq.queues
from django.db import connections
from django_tasks_rq import Job
from rq import SimpleWorker, Worker

from core import analytics
from ops.jobs import worker_upkeep
from ops.queue import QUEUE_NAME

# Seconds between a worker's upkeep runs (RQ's "maintenance": registry clean-up, and ours).
UPKEEP_SECONDS = 60


class _ThreadlyWorkerMixin:
    """What every Threadly worker adds to RQ's: database connections are never shared with a
    forked job, analytics queued by a job are sent before the job's process ends, and the
    worker's own upkeep (ops.jobs.worker_upkeep) runs with RQ's maintenance."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()  # type: ignore[misc]
        worker_upkeep(heartbeat=False)

    def perform_job(self, job: Job, queue: django_rq.queues.DjangoRQ) -> bool:
        try:
            return super().perform_job(job, queue)  # type: ignore[misc]
        finally:
            # A forked job ends with os._exit: the PostHog SDK's queue would be lost unsent.
            analytics.flush()


class ThreadlyWorker(_ThreadlyWorkerMixin, Worker):
    """RQ's forking worker: each job runs in a child process, so a crash or a leak in one job
    never takes the worker down."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        connections.close_all()  # the upkeep's; a forked job must not inherit them

    def fork_work_horse(self, job: Job, queue: django_rq.queues.DjangoRQ) -> None:
        # The child must open its own database connections, never reuse the parent's socket.
        connections.close_all()
        super().fork_work_horse(job, queue)


class InProcessWorker(_ThreadlyWorkerMixin, SimpleWorker):
    """Runs each job in the worker's own process (`run_worker --no-fork`): for tests, which
    need the job to see their database transaction, and for debugging a job."""


def get_worker(*, fork: bool = True) -> Worker:
    """A worker on Threadly's queue, with django-tasks-rq's Job class (it runs django.tasks)."""
    return django_rq.get_worker(
        QUEUE_NAME,
        job_class=Job,
        worker_class=ThreadlyWorker if fork else InProcessWorker,
        maintenance_interval=UPKEEP_SECONDS,
    )
