"""Background tasks of the operator side (Django's tasks framework)."""

from django.tasks import task

from ops import jobs


@task()
def run_periodic_job(name: str) -> None:
    """Run one periodic job (ops.jobs.SCHEDULE, or the worker's upkeep), enqueued by
    run_scheduler at its slot. A failing job is logged by run_job, so the task succeeds and
    the next slot tries again; a database error fails the task (RQ keeps it as failed)."""
    if name == jobs.UPKEEP:
        jobs.worker_upkeep()
        return
    jobs.run_job(jobs.JOBS[name])
