-- Shapes the day's candidate invoices for their set rules. key_rank numbers the rows of one
-- source_key from the last (source_file, source_row) backwards: a later row of a key supersedes the
-- earlier ones, so key_rank = 1 is the version kept and key_rank > 1 are DUPLICATE_KEY rejects.
SELECT
    source_file,
    source_row,
    source_key,
    customer_key,
    total_amount,
    ROW_NUMBER() OVER (PARTITION BY source_key ORDER BY source_file DESC, source_row DESC) AS key_rank
FROM candidate_invoices
