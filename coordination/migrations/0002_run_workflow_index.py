"""Index for the run list's ``?workflow_id=`` filter (``coordination/run_columns.py``).

PostgreSQL only: a partial expression index on ``(input ->> 'workflowId', created_at)``
over the runs of ``coordination.run``, so "runs of workflow X, newest first" is an index
scan at millions of runs. SQLite (the embedded default) has no use for it at its scale and
filters with ``json_extract``; there this migration does nothing.
"""

from django.db import migrations

INDEX = "coord_run_workflow_created"

CREATE = f"""
CREATE INDEX IF NOT EXISTS {INDEX} ON workflows_run
    ((input ->> 'workflowId'), created_at DESC)
    WHERE function_id = 'coordination.run'
"""
DROP = f"DROP INDEX IF EXISTS {INDEX}"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0001_initial"),
        ("workflows", "0003_console_indexes"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
