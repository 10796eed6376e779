"""Connectors: one per target API family, behind the small interface of base.py."""
