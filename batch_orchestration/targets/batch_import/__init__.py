"""The Batch Import API (seed 003): ``POST /v1/import``, up to 100 records of one type a request."""
