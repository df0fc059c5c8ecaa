-- One row per minute and signal: the writers' shards of ingest_stats summed (migration 0013).
CREATE OR REPLACE VIEW ingest_summary AS
SELECT bucket, signal,
       sum(records_received)::bigint AS records_received,
       sum(rows_written)::bigint AS rows_written,
       sum(duplicates_skipped)::bigint AS duplicates_skipped,
       sum(rejected)::bigint AS rejected
FROM ingest_stats
GROUP BY bucket, signal;
