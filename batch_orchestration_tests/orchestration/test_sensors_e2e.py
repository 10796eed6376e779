"""Three days of exports land at once; the real sensor drives real runs of the whole pipeline."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from batch_orchestration.orchestration.runner import QUIET_LOGS
from batch_orchestration_tests.orchestration.harness import DAY_KEYS, Pipeline, make_settings, small_export

pytestmark = pytest.mark.slow

# Invoices whose customer is unknown (PARENT_UNKNOWN on customer_key) although an earlier day validated it.
CUSTOMER_OF_AN_EARLIER_DAY = """
SELECT r.partition_day, r.source_key, s.customer_key
FROM rejects AS r
JOIN staged_invoices AS s
  ON s.partition_day = r.partition_day AND s.source_file = r.source_file AND s.source_row = r.source_row
JOIN validated_customers AS c ON c.source_key = s.customer_key AND c.partition_day < r.partition_day
WHERE r.entity = 'invoices' AND r.code = 'PARENT_UNKNOWN' AND SUBSTR(r.message, 1, 13) = 'customer_key '
"""


def test_three_days_landing_at_once_run_oldest_first_once_each(tmp_path: Path, sandbox,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGLEDGER_API_KEY", "sandbox-key")
    summary = small_export(tmp_path / "landing")  # the landing root of make_settings: all days at once
    pipeline = Pipeline.build(make_settings(tmp_path, sandbox, f"duckdb:///{tmp_path / 'w.duckdb'}"), sandbox)
    sensor = pipeline.defs.resolve_sensor_def("local_landing_sensor")
    job = pipeline.defs.resolve_job_def("migration_job")
    ran: list[tuple[str, bool]] = []  # (day, success) in the order the runs were executed

    with dg.instance_for_test() as instance:
        cursor = None
        for _ in range(2 * len(DAY_KEYS)):  # a bound: a sensor that never settles fails rather than hangs
            context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                              resources={"landing": pipeline.defs.resources["landing"]})
            result = sensor(context)
            cursor = result.cursor
            if not result.run_requests:
                break
            # The daemon's queue keeps no order within a tick: start the newest request first.
            for request in reversed(result.run_requests):
                outcome = job.execute_in_process(partition_key=request.partition_key, tags=request.tags,
                                                 instance=instance, run_config=QUIET_LOGS, raise_on_error=False)
                ran.append((request.partition_key, outcome.success))
        else:
            pytest.fail(f"the sensor still requests runs after {len(ran)} runs")
        runs = instance.get_run_records(filters=dg.RunsFilter(job_name="migration_job"))
        runs_per_day = Counter(record.dagster_run.tags["dagster/partition"] for record in runs)

    assert ran == [(day, True) for day in DAY_KEYS]
    assert runs_per_day == dict.fromkeys(DAY_KEYS, 1)
    assert pipeline.query(CUSTOMER_OF_AN_EARLIER_DAY) == []
    unknown = {key for (key,) in pipeline.query(
        "SELECT source_key FROM rejects WHERE entity = 'invoices' AND code = 'PARENT_UNKNOWN'")}
    assert unknown and unknown <= set(summary.expected_rejects("bigledger")["invoices"])  # the export's orphan invoices
    assert pipeline.target_counts()["invoices"] == len(pipeline.mapped_keys("invoices")) > 0
