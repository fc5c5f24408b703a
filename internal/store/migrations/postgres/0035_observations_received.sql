-- custodyd rebuilds its in-memory door cycles and latest reports from the recent observations at
-- start (alert.Checker.Restore); received_at only grows, so this index costs ingest little.
CREATE INDEX observations_received ON observations(received_at);
