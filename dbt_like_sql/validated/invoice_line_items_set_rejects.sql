-- Set rules for invoice line items, which no single row can check.
-- DUPLICATE_KEY: one source_key twice in the day; the last row (source_file, source_row) wins.
-- INVOICE_NOT_VALID: an invoice travels whole with its lines on one day, so a line is loaded only
-- with an invoice validated on the run day; a line of a rejected, missing or older invoice is rejected.
WITH run_day AS (
    SELECT partition_day FROM run_context
),
valid_invoices AS (
    SELECT v.source_key AS invoice_key
    FROM validated_invoices AS v
    CROSS JOIN run_day AS d
    WHERE v.partition_day = d.partition_day
)
SELECT
    r.source_file,
    r.source_row,
    r.source_key,
    'DUPLICATE_KEY' AS code,
    'source_key ' || r.source_key || ' appears again later in the day; the last row is kept' AS message
FROM invoice_line_item_candidates_ranked AS r
WHERE r.key_rank > 1
UNION ALL
SELECT
    l.source_file,
    l.source_row,
    l.source_key,
    'INVOICE_NOT_VALID' AS code,
    'invoice ' || COALESCE(l.invoice_key, '(none)') || ' is not among the invoices validated on '
    || d.partition_day AS message
FROM invoice_line_item_candidates_ranked AS l
CROSS JOIN run_day AS d
WHERE l.key_rank = 1 AND NOT EXISTS (SELECT 1 FROM valid_invoices AS i WHERE i.invoice_key = l.invoice_key)
