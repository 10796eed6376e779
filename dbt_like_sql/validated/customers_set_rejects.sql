-- DUPLICATE_EMAIL: the target keeps one customer per email. Among the day's kept candidates (one row
-- per key: DUPLICATE_KEY has run), emails equal case-insensitively (blanks trimmed; NULL and empty
-- ignored) keep the first row and reject the others; a row is also rejected when its email is the
-- current email (latest validated version before the run day) of a different source_key, so two
-- customers never claim one address across days.
WITH run_day AS (
    SELECT partition_day FROM run_context
),
kept AS (
    SELECT
        c.source_file,
        c.source_row,
        c.source_key,
        c.email,
        NULLIF(LOWER(TRIM(c.email)), '') AS email_norm
    FROM candidate_customers AS c
),
ranked AS (
    SELECT
        k.source_file,
        k.source_row,
        k.source_key,
        k.email,
        k.email_norm,
        ROW_NUMBER() OVER (PARTITION BY k.email_norm ORDER BY k.source_file, k.source_row) AS email_rank,
        FIRST_VALUE(k.source_key) OVER (
            PARTITION BY k.email_norm ORDER BY k.source_file, k.source_row
        ) AS first_key
    FROM kept AS k
    WHERE k.email_norm IS NOT NULL
),
earlier_versions AS (
    SELECT
        v.source_key,
        NULLIF(LOWER(TRIM(v.email)), '') AS email_norm,
        ROW_NUMBER() OVER (
            PARTITION BY v.source_key ORDER BY v.partition_day DESC, v.source_file DESC, v.source_row DESC
        ) AS version_rank
    FROM validated_customers AS v
    CROSS JOIN run_day AS d
    WHERE v.partition_day < d.partition_day
),
earlier_owners AS (
    -- Only the rows whose email an earlier day's customer holds: few, so grouping them is cheap.
    SELECT
        r.source_file,
        r.source_row,
        MIN(e.source_key) AS earlier_owner
    FROM ranked AS r
    INNER JOIN earlier_versions AS e
        ON e.email_norm = r.email_norm AND e.version_rank = 1 AND e.source_key <> r.source_key
    GROUP BY r.source_file, r.source_row
)
SELECT
    c.source_file,
    c.source_row,
    c.source_key,
    'DUPLICATE_EMAIL' AS code,
    CASE
        WHEN c.email_rank > 1
            THEN 'email ' || c.email || ' is already used by customer ' || c.first_key || ' earlier in the day'
        ELSE 'email ' || c.email || ' is already used by customer ' || o.earlier_owner || ' from an earlier day'
    END AS message
FROM ranked AS c
LEFT JOIN earlier_owners AS o
    ON o.source_file = c.source_file AND o.source_row = c.source_row
WHERE c.email_rank > 1 OR o.earlier_owner IS NOT NULL
