-- Set rules for customers, which no single row can check.
-- DUPLICATE_KEY: one source_key twice in the day; the last row (source_file, source_row) wins, since
-- an export appends corrections, and the earlier rows are rejected.
-- DUPLICATE_EMAIL: the target keeps one customer per email. Among the kept rows of the day, emails
-- equal case-insensitively (NULL and empty ignored) keep the first row and reject the others; a row
-- is also rejected when its email is the current email (latest validated version before the run day)
-- of a different source_key, so two customers never claim one address across days.
WITH run_day AS (
    SELECT partition_day FROM run_context
),
kept AS (
    SELECT
        r.source_file,
        r.source_row,
        r.source_key,
        r.email,
        r.email_norm,
        ROW_NUMBER() OVER (PARTITION BY r.email_norm ORDER BY r.source_file, r.source_row) AS email_rank,
        FIRST_VALUE(r.source_key) OVER (
            PARTITION BY r.email_norm ORDER BY r.source_file, r.source_row
        ) AS first_key
    FROM customer_candidates_ranked AS r
    WHERE r.key_rank = 1 AND r.email_norm IS NOT NULL
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
email_clashes AS (
    SELECT
        k.source_file,
        k.source_row,
        k.source_key,
        k.email,
        k.email_rank,
        k.first_key,
        MIN(e.source_key) AS earlier_owner
    FROM kept AS k
    LEFT JOIN earlier_versions AS e
        ON e.email_norm = k.email_norm AND e.version_rank = 1 AND e.source_key <> k.source_key
    GROUP BY k.source_file, k.source_row, k.source_key, k.email, k.email_rank, k.first_key
)
SELECT
    r.source_file,
    r.source_row,
    r.source_key,
    'DUPLICATE_KEY' AS code,
    'source_key ' || r.source_key || ' appears again later in the day; the last row is kept' AS message
FROM customer_candidates_ranked AS r
WHERE r.key_rank > 1
UNION ALL
SELECT
    c.source_file,
    c.source_row,
    c.source_key,
    'DUPLICATE_EMAIL' AS code,
    CASE
        WHEN c.email_rank > 1
            THEN 'email ' || c.email || ' is already used by customer ' || c.first_key || ' earlier in the day'
        ELSE 'email ' || c.email || ' is already used by customer ' || c.earlier_owner || ' from an earlier day'
    END AS message
FROM email_clashes AS c
WHERE c.email_rank > 1 OR c.earlier_owner IS NOT NULL
