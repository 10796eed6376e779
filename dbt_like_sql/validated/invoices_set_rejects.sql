-- Set rules for invoices, which no single row can check.
-- DUPLICATE_KEY: one source_key twice in the day; the last row (source_file, source_row) wins.
-- CUSTOMER_UNKNOWN: the ledger refuses an invoice whose customer it does not have, so the customer
-- must be validated on this day or before, or already be in the target (id_map, entity 'customers').
-- NO_LINES: an invoice travels whole with its lines, and an invoice without lines is not one.
-- TOTAL_MISMATCH: the header total must equal the sum of its kept lines within 0.01, inclusive and
-- exact (DECIMAL, not floating point), as the target checks it (docs/target-apis.md).
-- An invoice may break several of the last three rules and then has one reject per rule.
WITH run_day AS (
    SELECT partition_day FROM run_context
),
known_customers AS (
    SELECT v.source_key AS customer_key
    FROM validated_customers AS v
    CROSS JOIN run_day AS d
    WHERE v.partition_day <= d.partition_day
    UNION
    SELECT m.source_key AS customer_key
    FROM id_map AS m
    WHERE m.entity = 'customers'
),
kept AS (
    SELECT
        i.source_file,
        i.source_row,
        i.source_key,
        i.customer_key,
        i.total_amount,
        t.line_count,
        t.lines_total
    FROM invoice_candidates_ranked AS i
    LEFT JOIN invoice_line_totals AS t ON t.invoice_key = i.source_key
    WHERE i.key_rank = 1
)
SELECT
    r.source_file,
    r.source_row,
    r.source_key,
    'DUPLICATE_KEY' AS code,
    'source_key ' || r.source_key || ' appears again later in the day; the last row is kept' AS message
FROM invoice_candidates_ranked AS r
WHERE r.key_rank > 1
UNION ALL
SELECT
    k.source_file,
    k.source_row,
    k.source_key,
    'CUSTOMER_UNKNOWN' AS code,
    'customer ' || COALESCE(k.customer_key, '(none)')
    || ' is neither validated up to this day nor in the target' AS message
FROM kept AS k
WHERE NOT EXISTS (SELECT 1 FROM known_customers AS c WHERE c.customer_key = k.customer_key)
UNION ALL
SELECT
    k.source_file,
    k.source_row,
    k.source_key,
    'NO_LINES' AS code,
    'invoice has no line items among the day''s candidates' AS message
FROM kept AS k
WHERE k.line_count IS NULL
UNION ALL
SELECT
    k.source_file,
    k.source_row,
    k.source_key,
    'TOTAL_MISMATCH' AS code,
    'total_amount ' || CAST(CAST(k.total_amount AS DECIMAL(38, 4)) AS TEXT)
    || ' differs from the sum of its lines ' || CAST(CAST(k.lines_total AS DECIMAL(38, 4)) AS TEXT)
    || ' by more than 0.01' AS message
FROM kept AS k
WHERE ABS(CAST(k.total_amount AS DECIMAL(38, 8)) - k.lines_total) > 0.01  -- wide enough for 14+4 digits at scale 8
