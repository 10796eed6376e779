-- UNBALANCED: a journal entry's debits must equal its credits within 0.01, inclusive and exact
-- (DECIMAL), over its lines still standing (each line has passed its own rules), as the target checks
-- them. An entry with too few lines is NO_LINES (generated), not this.
WITH totals AS (
    SELECT
        l.entry_key,
        SUM(CAST(COALESCE(l.debit, 0) AS DECIMAL(38, 4))) AS debits,
        SUM(CAST(COALESCE(l.credit, 0) AS DECIMAL(38, 4))) AS credits
    FROM candidate_journal_entry_lines AS l
    GROUP BY l.entry_key
)
SELECT
    e.source_file,
    e.source_row,
    e.source_key,
    'UNBALANCED' AS code,
    'debits ' || CAST(t.debits AS TEXT) || ' do not equal credits ' || CAST(t.credits AS TEXT) AS message
FROM candidate_journal_entries AS e
JOIN totals AS t ON t.entry_key = e.source_key
WHERE ABS(t.debits - t.credits) > 0.01
