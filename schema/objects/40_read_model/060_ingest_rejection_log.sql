CREATE OR REPLACE VIEW ingest_rejection_log AS
SELECT bucket, signal, reason, count AS rejected, example
FROM ingest_rejections;
