-- Sessions over their whole life, from session_rollup (kept current by the ingest
-- triggers, and surviving raw-row retention). Turns are model calls; a session's harness,
-- repository, user and team are the values its calls reported.
CREATE OR REPLACE VIEW session_log AS
SELECT session_id,
       user_id,
       team,
       harness_name AS harness,
       CASE WHEN workspace_repo = '' THEN '(none)' ELSE workspace_repo END AS repository,
       first_ts AS started_at,
       last_ts AS last_call_at,
       extract(epoch FROM last_ts - first_ts) AS duration_s,
       calls AS turns,
       error_calls,
       unpriced_calls,
       input_tokens,
       output_tokens,
       cache_read_tokens,
       cache_write_tokens,
       input_tokens + output_tokens + cache_read_tokens + cache_write_tokens AS total_tokens,
       cache_read_tokens / nullif(input_tokens + cache_read_tokens + cache_write_tokens, 0) AS cache_hit_ratio,
       cost_usd
FROM session_rollup;
