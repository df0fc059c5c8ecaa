-- Sessions as they should be: pruned history (archive) combined with the remaining raw
-- rows. `ids` is an SQL expression of type text[]; NULL means every session.
CREATE OR REPLACE FUNCTION session_rollup_expected(ids TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT session_rollup_combine(format(
        'SELECT * FROM session_archive a WHERE %1$s IS NULL OR a.session_id = ANY(%1$s) UNION ALL %2$s',
        ids,
        session_rollup_partials(spend_rollup_input(
            'agent_spend_logs', 1, format('WHERE %1$s IS NULL OR r.session_id = ANY(%1$s)', ids)))))
$$;
