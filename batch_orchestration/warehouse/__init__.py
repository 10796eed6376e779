"""The warehouse: every table the pipeline keeps, in DuckDB (embedded default) or PostgreSQL."""

from batch_orchestration.warehouse.backend import Warehouse, WarehouseSession, open_warehouse

__all__ = ["Warehouse", "WarehouseSession", "open_warehouse"]
