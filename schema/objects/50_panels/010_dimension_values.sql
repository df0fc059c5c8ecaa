-- Values offered by the dashboard variables: dimensions seen in the range (day grain, so
-- the first partial day counts), plus every configured team.
CREATE OR REPLACE FUNCTION dimension_values(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (dimension text, value text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT 'environment', d.environment FROM spend_by_day d
    WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to GROUP BY d.environment
    UNION ALL
    SELECT 'team', t.team FROM (
        SELECT d.team FROM spend_by_day d WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to
        UNION SELECT team FROM teams
    ) t
    UNION ALL
    SELECT 'user', d.user_id FROM spend_by_day d
    WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to GROUP BY d.user_id
    UNION ALL
    SELECT 'model', d.model FROM spend_by_day d
    WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to GROUP BY d.model
    UNION ALL
    SELECT 'harness', d.harness FROM spend_by_day d
    WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to GROUP BY d.harness
    UNION ALL
    SELECT 'repository', d.repository FROM spend_by_day d
    WHERE d.bucket >= date_trunc('day', p_from, 'UTC') AND d.bucket <= p_to GROUP BY d.repository
$$;
