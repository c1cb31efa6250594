"""The scheduler as a Celery worker bootstep: no beat process to run or to lose."""

from __future__ import annotations

from celery import bootsteps


class SchedulerStep(bootsteps.StartStopStep):
    """Every worker schedules; ``SKIP LOCKED`` and the tick keys make that safe.

    ``RAWR_SCHEDULER_INTERVAL=0`` turns it off (for workers that should only execute).
    """

    def __init__(self, worker, **kwargs) -> None:
        super().__init__(worker, **kwargs)
        self.thread = None

    def start(self, worker) -> None:
        from workflows.schedules.scheduler import SchedulerThread, scheduler_interval

        interval = scheduler_interval()
        if interval > 0:
            self.thread = SchedulerThread(interval)
            self.thread.start()

    def stop(self, worker) -> None:
        if self.thread is not None:
            self.thread.stop()
