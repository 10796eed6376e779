-- Per invoice, how many line items the day brings and what they add up to, counting only the kept
-- version of each line (a superseded duplicate must not inflate the total): the invoice set rules
-- NO_LINES and TOTAL_MISMATCH are stated against this. The sum is exact, as the target's: each
-- product in DECIMAL(38, 4) (two DECIMAL(18, 4) amounts multiply past 18 digits), nothing rounded per line.
SELECT
    invoice_key,
    COUNT(*) AS line_count,
    SUM(CAST(quantity AS DECIMAL(38, 4)) * CAST(unit_price AS DECIMAL(38, 4))) AS lines_total
FROM invoice_line_item_candidates_ranked
WHERE key_rank = 1
GROUP BY invoice_key
