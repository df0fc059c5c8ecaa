-- 0013: ingest_stats per writer shard.
--
-- Every writer upserted the same (minute, signal) row of ingest_stats as the last statement
-- of its transaction, so every writer of every bridge waited there for the previous one's
-- commit: one commit (and its WAL flush) at a time, fleet-wide, and no group commit. Each
-- writer now adds to the row of its own shard (its backend pid modulo 16, computed in the
-- upsert); the view ingest_summary sums the shards back into one row per minute and signal,
-- so the dashboards and counts do not change. Two writers share a shard only by chance, and
-- then only wait for each other as before.

ALTER TABLE ingest_stats ADD COLUMN shard SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE ingest_stats DROP CONSTRAINT ingest_stats_pkey;
ALTER TABLE ingest_stats ADD PRIMARY KEY (bucket, signal, shard);
