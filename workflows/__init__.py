"""Durable workflow runtime on Celery (runs, steps, timelines).

Arrives with the runtime issue; capabilities will import its public API from here.
"""
