-- The conservation check "every validated record ends loaded or rejected", for one target: the
-- records validated on the run day (all entities) that are neither in that target's ID map with the
-- same content hash (loaded as they are now) nor rejected by that target at the load stage for that
-- day. Any row here is a record the pipeline lost between validation and loading, so the check fails
-- when this model is not empty. validated_records is every entity's validated records, a view the
-- pipeline builds from the registry (warehouse/schema.py), so no entity can be left out here. A record
-- whose ID map entry comes from a later day is accounted for: the target holds its newer version; so is
-- one a later day's load deleted (the source said it left).
WITH run_day AS (
    SELECT partition_day, target FROM run_context
)
SELECT
    v.entity,
    v.source_key,
    v.partition_day
FROM validated_records AS v
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
AND NOT EXISTS (
    SELECT 1
    FROM load_history AS h
    WHERE h.target = d.target AND h.entity = v.entity AND h.source_key = v.source_key
        AND h.operation = 'delete' AND h.partition_day > v.partition_day
)
