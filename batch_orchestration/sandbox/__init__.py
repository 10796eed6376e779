"""A local stand-in for the target systems documented in ../shared/seeds/.

It answers over real HTTP as those documents say, persists what it accepts, enforces the documented
rate limits and can inject faults, so the pipeline is developed and tested against something that
behaves like the real ledger.
"""
