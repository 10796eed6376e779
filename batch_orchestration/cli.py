"""The ``batch-orchestration`` command line."""

from __future__ import annotations

from typing import Annotated

import typer

from batch_orchestration.sandbox.config import DEMO_API_KEY, DEMO_COMPANY, FaultConfig, SandboxConfig

app = typer.Typer(help="Migrate legacy accounting CSV exports into a target ledger, and keep them in sync.",
                  no_args_is_help=True)
sandbox_app = typer.Typer(help="The local stand-in for the target systems.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


def _parse_companies(pairs: list[str]) -> dict[str, str]:
    companies: dict[str, str] = {}
    for pair in pairs:
        company, sep, key = pair.partition("=")
        if not sep or not company or not key:
            raise typer.BadParameter(f"{pair!r} is not COMPANY_ID=API_KEY", param_hint="--company")
        companies[company] = key
    return companies or {DEMO_COMPANY: DEMO_API_KEY}


@sandbox_app.command("serve")
def sandbox_serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    db: Annotated[str, typer.Option(help="SQLite file that keeps everything accepted.")] = "sandbox.sqlite",
    company: Annotated[list[str] | None, typer.Option(help="COMPANY_ID=API_KEY; repeatable.")] = None,
    window_seconds: Annotated[float, typer.Option(help="Length of the rate-limit minute.")] = 60.0,
    faults: Annotated[str, typer.Option(help="e.g. 5xx=0.1,429=0.05,lost=0.02,latency_ms=200")] = "",
    fault_seed: Annotated[int | None, typer.Option(help="Seed for repeatable faults.")] = None,
    allow_future_invoice_dates: Annotated[bool, typer.Option(help="Accept invoices dated later than today.")]
    = False,
    s3_endpoint_url: Annotated[str | None, typer.Option(help="Presign eBill uploads against this S3.")] = None,
) -> None:
    """Serve the sandbox until interrupted."""
    from batch_orchestration.sandbox.server import serve

    try:
        fault_config = FaultConfig.parse(faults)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from exc
    config = SandboxConfig(
        db_path=db,
        companies=_parse_companies(company or []),
        window_seconds=window_seconds,
        faults=fault_config,
        fault_seed=fault_seed,
        allow_future_invoice_dates=allow_future_invoice_dates,
        s3_endpoint_url=s3_endpoint_url,
    )
    typer.echo(f"sandbox on http://{host}:{port} (db {db}, companies: {', '.join(config.companies)})")
    serve(config, host, port)


if __name__ == "__main__":
    app()
