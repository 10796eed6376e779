"""Bulk Payables (seed 004): a batch of payable items a day, created, filled, submitted and polled."""
