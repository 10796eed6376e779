"""eBill's batch file upload (seed 001): records go as CSV files through signed upload URLs."""
