"""Index for the run list's ``?workflow_id=`` filter (``coordination/run_columns.py``).

PostgreSQL only: a partial expression index on ``(input ->> 'workflowId', created_at)``
over the runs of ``coordination.run``, so "runs of workflow X, newest first" is an index
scan at millions of runs; and (PostgreSQL 14+) extended statistics on
``(function_id, input ->> 'workflowId')``, without which the planner guesses a workflow's
run count 100 times too low (ANALYZE keeps no statistics for a partial index's
expression) and the run list's estimated count would say "about 500" for 48,000 runs.
SQLite (the embedded default) filters with ``json_extract``; there this does nothing.
"""

from django.db import migrations

INDEX = "coord_run_workflow_created"
STATISTICS = "coord_run_workflow_stats"

CREATE_INDEX = f"""
CREATE INDEX IF NOT EXISTS {INDEX} ON workflows_run
    ((input ->> 'workflowId'), created_at DESC)
    WHERE function_id = 'coordination.run'
"""
CREATE_STATISTICS = f"""
CREATE STATISTICS IF NOT EXISTS {STATISTICS} (mcv)
    ON function_id, (input ->> 'workflowId') FROM workflows_run
"""


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_INDEX)
    if connection.pg_version >= 140000:  # expressions in extended statistics
        schema_editor.execute(CREATE_STATISTICS)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0001_initial"),
        ("workflows", "0003_console_indexes"),
    ]

    operations = [migrations.RunPython(create, drop)]
