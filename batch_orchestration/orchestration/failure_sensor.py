"""A failed run says so in one clear message: in the sensor's log and, when a webhook is configured, to it.

The message names the job, the day, each failed step with the first line of its error (the pipeline's
errors say what to check, and name the variable of a secret, never its value), and where to look. The
webhook's URL is read from ``BATCH_ORCHESTRATION_ALERT_WEBHOOK_URL`` when a failure is reported, never
shown in the UI or a log: such URLs carry their own token. The post is JSON, ``{"text": ...}`` (what Slack,
Teams and Mattermost incoming webhooks read), with the run's id, job, day and failed steps beside it. A
post that fails raises, which Dagster shows as the sensor tick's error (it does not report that run again).
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg
import requests

from batch_orchestration.orchestration.partitions import PARTITION_TAG
from batch_orchestration.orchestration.settings import ENV_PREFIX

WEBHOOK_VARIABLE = f"{ENV_PREFIX}ALERT_WEBHOOK_URL"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def failure_report(context: dg.RunFailureSensorContext) -> dict[str, Any]:
    """What the message says, as data."""
    run = context.dagster_run
    steps = [{"step": event.step_key, "error": _first_line(event.step_failure_data.error.message)
              if event.step_failure_data.error else ""} for event in context.get_step_failure_events()]
    day = run.tags.get(PARTITION_TAG)
    lines = [f"{run.job_name}{f' for {day}' if day else ''} failed (run {run.run_id})."]
    lines += [f"- {step['step']}: {step['error']}" for step in steps] or [
        f"- {_first_line(context.failure_event.message or '') or 'the run failed before any step'}"]
    lines.append("Its log in the Dagster UI says what to check; docs/operations.md says how to run it again.")
    return {"text": "\n".join(lines), "run_id": run.run_id, "job": run.job_name, "day": day, "failed_steps": steps}


@dg.run_failure_sensor(name="run_failure_alert", default_status=dg.DefaultSensorStatus.RUNNING,
                       description=f"Reports each failed run in one message; to a webhook too when "
                                   f"${WEBHOOK_VARIABLE} is set")
def run_failure_alert(context: dg.RunFailureSensorContext) -> None:
    report = failure_report(context)
    context.log.error(report["text"])
    url = os.environ.get(WEBHOOK_VARIABLE)
    if url:  # never named in what is raised: the URL holds the webhook's token (requests' errors quote it)
        try:
            answer = requests.post(url, json=report, timeout=10)
        except requests.RequestException as exc:
            raise RuntimeError(f"the alert webhook (${WEBHOOK_VARIABLE}) could not be reached: "
                               f"{type(exc).__name__}") from None
        if not answer.ok:
            raise RuntimeError(f"the alert webhook (${WEBHOOK_VARIABLE}) answered HTTP {answer.status_code}")
