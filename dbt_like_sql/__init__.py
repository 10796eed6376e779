"""Marks this folder as the package batch_orchestration.dbt_like_sql, so the models ship as its package data.

The runner finds them with importlib.resources (batch_orchestration/warehouse/sql_models.py); edit them here.
"""
