"""Landing zones (local, S3), the legacy column mapping, and chunked staging of CSV exports."""
