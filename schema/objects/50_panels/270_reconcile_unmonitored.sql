-- Spend billed but never seen in telemetry, over the UTC days of the range, in disjoint rows
-- (their unseen figures add up to reconcile_days' unseen ones, as far as the user rows'
-- report agrees with the tokens report):
--   'api key or account': lines of the tokens report (reconcile_sources) for a day and model
--       telemetry saw nothing of, summed per account (api key, workspace or project as
--       reported): a key nobody monitors, or a harness without telemetry; dollars are the
--       dollar report's lines of the same account, day and model;
--   'user': on days and models telemetry did see, users a report names (reconcile_users)
--       with billed tokens but no telemetry of theirs: telemetry not enabled for them;
--   'partly seen': the rest of what telemetry saw less of than was billed (reconcile_days'
--       unseen figures minus those users'), not attributable to a key or user.
-- `days` counts the days and models (cells) behind each row.
CREATE OR REPLACE FUNCTION reconcile_unmonitored(
    p_from timestamptz, p_to timestamptz, p_model text[] DEFAULT '{__all}'
) RETURNS TABLE (
    provider text, kind text, who text, model text, days bigint, billed_tokens numeric, billed_usd numeric,
    unseen_tokens numeric, unseen_usd numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH d AS (SELECT * FROM reconcile_days(p_from, p_to, p_model)),
    accounts AS (
        SELECT l.provider, l.account, l.model, l.day,
               sum(l.input_tokens + l.cache_read_tokens + l.cache_write_tokens + l.output_tokens)
                   FILTER (WHERE l.report = d.tokens_report) AS tokens,
               sum(l.cost_usd) FILTER (WHERE l.report = d.usd_report) AS usd
        FROM d
        JOIN billing_lines l ON l.provider = d.provider AND l.day = d.day AND l.model = d.model
                            AND l.report IN (d.tokens_report, d.usd_report)
        WHERE d.telemetry_tokens = 0 AND d.billed_tokens > 0
        GROUP BY l.provider, l.account, l.model, l.day
    ),
    users AS (
        SELECT u.provider, u.day, u.model, u.user_id, u.billed_tokens, u.billed_usd
        FROM reconcile_users(p_from, p_to, p_model) u
        JOIN d ON d.provider = u.provider AND d.day = u.day AND d.model = u.model AND d.telemetry_tokens > 0
        WHERE u.telemetry_tokens = 0 AND u.billed_tokens > 0
    ),
    partly AS (
        SELECT d.provider, d.model, d.billed_tokens, d.billed_usd,
               greatest(d.unseen_tokens - coalesce(sum(u.billed_tokens), 0), 0) AS tokens,
               greatest(d.unseen_usd - coalesce(sum(u.billed_usd), 0), 0) AS usd
        FROM d
        LEFT JOIN users u ON u.provider = d.provider AND u.day = d.day AND u.model = d.model
        WHERE d.telemetry_tokens > 0
        GROUP BY d.provider, d.day, d.model, d.billed_tokens, d.billed_usd, d.unseen_tokens, d.unseen_usd
    )
    SELECT a.provider, 'api key or account', CASE WHEN a.account = '' THEN '(no account)' ELSE a.account END,
           a.model, count(*) FILTER (WHERE a.tokens > 0), coalesce(sum(a.tokens), 0), sum(a.usd),
           coalesce(sum(a.tokens), 0), sum(a.usd)
    FROM accounts a
    GROUP BY a.provider, a.account, a.model
    UNION ALL
    SELECT u.provider, 'user', u.user_id, u.model, count(*), sum(u.billed_tokens), sum(u.billed_usd),
           sum(u.billed_tokens), sum(u.billed_usd)
    FROM users u
    GROUP BY u.provider, u.user_id, u.model
    UNION ALL
    SELECT p.provider, 'partly seen', '(not attributable)', p.model, count(*), sum(p.billed_tokens),
           sum(p.billed_usd), sum(p.tokens), sum(p.usd)
    FROM partly p
    WHERE p.tokens > 0 OR p.usd > 0
    GROUP BY p.provider, p.model
$$;
