"""eBill's carry forward (``BatchInit``) as a job an operator launches on purpose, never part of a load.

It changes the status of every open invoice, credit memo or debit memo of the company (and can zero
every customer's balance), so the run does nothing unless its config says ``confirm: true``.
"""

# No ``from __future__ import annotations``: Dagster reads the op's config class from its annotation.
import dagster as dg
from pydantic import Field

from batch_orchestration.targets.ebill.connector import CarryForward, EbillConnector
from batch_orchestration.targets.routing import Route


class CarryForwardConfig(dg.Config):
    confirm: bool = Field(default=False, description="Must be true: every open document of the company changes")
    carry_forward_invoices: bool = False
    carry_forward_credit_memos: bool = False
    carry_forward_debit_memos: bool = False
    zero_out_customer_balance: bool = Field(default=False, description="Set only before a new data load")


def carry_forward_job(route: Route) -> dg.JobDefinition:
    """``<target>_carry_forward_job`` for the eBill target of ``route``."""

    @dg.op(name=f"{route.target}_batch_init", required_resource_keys={route.resource_key}, pool=route.pool)
    def batch_init(context: dg.OpExecutionContext, config: CarryForwardConfig) -> dg.Output[dict[str, int]]:
        request = CarryForward(config.carry_forward_invoices, config.carry_forward_credit_memos,
                               config.carry_forward_debit_memos, config.zero_out_customer_balance)
        if not config.confirm:
            raise dg.Failure(description=f"Nothing was sent: carrying forward changes every open document of "
                             f"{route.config.company_id} in {route.target}. Launch the run again with confirm: true "
                             "in its config if that is what you want.", allow_retries=False)
        if request == CarryForward():
            raise dg.Failure(description="Nothing was requested: set at least one carry_forward_* or "
                             "zero_out_customer_balance to true.", allow_retries=False)
        connector: EbillConnector = getattr(context.resources, route.resource_key).connector()
        # A step retry, and a re-execution of the run from the UI, ask eBill for it before sending it again.
        job_id = f"bo-init-{context.dagster_run.root_run_id or context.run_id}"
        counts = connector.carry_forward(job_id, request)
        context.log.info(f"eBill {route.target} carried forward {counts} (jobId {job_id})")
        metadata = {"job_id": job_id, "zeroed_customer_balances": request.zero_out_customer_balance,
                    **{f"carried_forward/{kind}": n for kind, n in counts.items()}}
        return dg.Output(counts, metadata=metadata)

    @dg.job(name=f"{route.target}_carry_forward_job",
            description=f"eBill BatchInit for {route.target}: carry forward open documents. Needs confirm: true.")
    def job() -> None:
        batch_init()

    return job
