"""The BigLedger Batch Operations API (seed 000) with its REST conventions (seed 002)."""

from batch_orchestration.targets.bigledger.connector import BigLedgerConnector, BigLedgerSettings

__all__ = ["BigLedgerConnector", "BigLedgerSettings"]
