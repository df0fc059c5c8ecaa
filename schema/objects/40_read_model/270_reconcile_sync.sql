-- Where each report's pull stands (billing_sync, written by `agent-spend reconcile`), with
-- the last day it has lines for: the freshness table of the Reconciliation dashboard and of
-- `reconcile status`. One primary-key probe of billing_lines per row.
CREATE OR REPLACE VIEW reconcile_sync AS
SELECT s.provider, s.report, s.complete_through, s.last_pulled_at, s.last_error,
       (SELECT max(l.day) FROM billing_lines l WHERE l.provider = s.provider AND l.report = s.report)
           AS last_day_with_lines
FROM billing_sync s;
