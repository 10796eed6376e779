"""Which executor runs a run's steps: a deployment choice (``BATCH_ORCHESTRATION_EXECUTOR``), made here.

- ``multiprocess`` (the default): every step in its own process on the machine of the run. It is Dagster's
  default executor, so a run's config may still choose ``execution: config: in_process`` (or
  ``multiprocess``) as the launchpad offers.
- ``in_process``: every step in the run's process, one after another (small deployments, fast tests).
- ``celery``: every step a Celery task, run by whichever worker takes it (``dagster-celery worker
  start``, docs/operations.md); the broker and results backend are named by environment variables.

Pools (one load at a time per target) hold under all three: each takes a pool's slot from the instance.
"""

from __future__ import annotations

import dagster as dg

EXECUTORS = ("multiprocess", "in_process", "celery")
# The Celery executor's config reads these at launch; the workers' config file names the same ones.
CELERY_BROKER_VARIABLE = "BATCH_ORCHESTRATION_CELERY_BROKER"
CELERY_BACKEND_VARIABLE = "BATCH_ORCHESTRATION_CELERY_BACKEND"


def executor_for(name: str) -> dg.ExecutorDefinition:
    if name == "multiprocess":
        return dg.multi_or_in_process_executor
    if name == "in_process":
        return dg.in_process_executor
    if name == "celery":
        from dagster_celery import celery_executor  # deferred: only a Celery deployment needs it installed

        return celery_executor.configured(
            {"broker": {"env": CELERY_BROKER_VARIABLE}, "backend": {"env": CELERY_BACKEND_VARIABLE}},
            name="celery",
        )
    raise ValueError(f"unknown executor {name!r}: use one of {', '.join(EXECUTORS)}")
