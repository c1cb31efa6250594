"""Worker integration: the in-worker sweeper (a Celery bootstep) and correlation-id logs."""

from __future__ import annotations

from celery import bootsteps
from django.conf import settings


class SweeperStep(bootsteps.StartStopStep):
    """Every worker sweeps: no separate beat process to run or to lose."""

    def __init__(self, worker, **kwargs) -> None:
        super().__init__(worker, **kwargs)
        self.thread = None

    def start(self, worker) -> None:
        from workflows.sweeper import SweeperThread

        interval = float(settings.RAWR_SWEEP_INTERVAL)
        if interval > 0:
            self.thread = SweeperThread(interval)
            self.thread.start()

    def stop(self, worker) -> None:
        if self.thread is not None:
            self.thread.stop()
