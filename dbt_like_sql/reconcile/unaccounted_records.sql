-- The conservation check "every validated record ends loaded or rejected", for one target: the
-- records validated on the run day (all entities) that are neither in that target's ID map with the
-- same content hash (loaded as they are now) nor rejected by that target at the load stage for that
-- day. Any row here is a record the pipeline lost between validation and loading, so the check fails
-- when this model is not empty. A record
-- whose ID map entry comes from a later day is accounted for: the target holds its newer version.
WITH run_day AS (
    SELECT partition_day, target FROM run_context
),
validated AS (
    SELECT 'customers' AS entity, c.source_key, c.content_hash, c.partition_day
    FROM validated_customers AS c
    UNION ALL
    SELECT 'invoices' AS entity, i.source_key, i.content_hash, i.partition_day
    FROM validated_invoices AS i
    UNION ALL
    SELECT 'invoice_line_items' AS entity, l.source_key, l.content_hash, l.partition_day
    FROM validated_invoice_line_items AS l
)
SELECT
    v.entity,
    v.source_key,
    v.partition_day
FROM validated AS v
JOIN run_day AS d ON v.partition_day = d.partition_day
WHERE NOT EXISTS (
    SELECT 1
    FROM id_map AS m
    WHERE m.target = d.target AND m.entity = v.entity AND m.source_key = v.source_key
        AND (m.content_hash = v.content_hash OR m.partition_day > v.partition_day)
)
AND NOT EXISTS (
    SELECT 1
    FROM rejects AS r
    WHERE r.stage = 'load' AND r.target = d.target AND r.entity = v.entity AND r.source_key = v.source_key
        AND r.partition_day = v.partition_day
)
