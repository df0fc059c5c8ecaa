CREATE OR REPLACE VIEW ingest_summary AS
SELECT bucket, signal, records_received, rows_written, duplicates_skipped, rejected
FROM ingest_stats;
