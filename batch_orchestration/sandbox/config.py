"""Settings of one sandbox server."""

from __future__ import annotations

from dataclasses import dataclass, field

DEMO_COMPANY = "demo-company"
DEMO_API_KEY = "sandbox-key"


@dataclass(frozen=True)
class FaultConfig:
    """Probabilities of injected faults; all zero means the sandbox behaves perfectly.

    ``latency`` is the probability that a request is delayed by ``latency_ms``; when only
    ``latency_ms`` is given every request is delayed.
    """

    p_5xx: float = 0.0
    p_429: float = 0.0
    p_lost: float = 0.0
    p_latency: float = 0.0
    latency_ms: int = 0

    @property
    def enabled(self) -> bool:
        return any((self.p_5xx, self.p_429, self.p_lost, self.p_latency and self.latency_ms))

    @classmethod
    def parse(cls, spec: str) -> FaultConfig:
        """Parse ``5xx=0.1,429=0.05,lost=0.02,latency=0.5,latency_ms=200``."""
        names = {"5xx": "p_5xx", "429": "p_429", "lost": "p_lost", "latency": "p_latency"}
        values: dict[str, float | int] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, raw = part.partition("=")
            if not sep:
                raise ValueError(f"fault {part!r} is not of the form name=value")
            if key == "latency_ms":
                values["latency_ms"] = int(raw)
                continue
            if key not in names:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join([*names, 'latency_ms'])}")
            probability = float(raw)
            if not 0.0 <= probability <= 1.0:
                raise ValueError(f"fault {key} must be a probability between 0 and 1, got {raw}")
            values[names[key]] = probability
        if values.get("latency_ms") and "p_latency" not in values:
            values["p_latency"] = 1.0
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SandboxConfig:
    """Everything a sandbox needs to start; the defaults give the documented demo company."""

    db_path: str = ":memory:"
    companies: dict[str, str] = field(default_factory=lambda: {DEMO_COMPANY: DEMO_API_KEY})
    # Length of the rate-limit "minute"; tests and the demo shorten it. The hourly request budget
    # scales with it (one hour = 60 windows).
    window_seconds: float = 60.0
    # Seed 002's per-key request limits; tests raise or lower them to reach a limit quickly.
    requests_per_second: int = 10
    requests_per_hour: int = 1000
    faults: FaultConfig = field(default_factory=FaultConfig)
    fault_seed: int | None = None
    # Seed 000: invoice date "not in future (configurable)".
    allow_future_invoice_dates: bool = False
    # Pause per record in background jobs, so progress can be watched (0 in production use).
    job_record_delay_seconds: float = 0.0
    # eBill uploads: presign against this S3 endpoint when set, else the sandbox signs its own URLs.
    s3_endpoint_url: str | None = None
    s3_bucket: str = "ebill-uploads"
    upload_url_ttl_seconds: int = 3600
