-- Reconciliation findings, the alerts raised from them and each alert's history (opened,
-- notified, escalated, acknowledged, resolved, suppressed). Times are RFC 3339 UTC text.
-- Owned by package alert; the API reads them for the console.

CREATE TABLE findings (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,             -- item/<id>, tag/<epc>, cabinet/<code>, agent/<id>
    confidence  TEXT NOT NULL CHECK (confidence IN ('suspected','confirmed')),
    cabinet     TEXT NOT NULL DEFAULT '',
    agent       TEXT NOT NULL DEFAULT '',
    item_id     INTEGER,
    item        TEXT NOT NULL DEFAULT '',  -- item number: secure network only, never external
    level       TEXT NOT NULL DEFAULT '',
    epc         TEXT NOT NULL DEFAULT '',
    holder      TEXT NOT NULL DEFAULT '',
    ours        INTEGER NOT NULL DEFAULT 0, -- unknown_tag: our company prefix, not a foreign tag
    text_zh     TEXT NOT NULL DEFAULT '',
    text_en     TEXT NOT NULL DEFAULT '',
    evidence    TEXT NOT NULL DEFAULT '{}', -- JSON reconcile.Evidence
    alert_id    INTEGER REFERENCES alerts(id),
    opened_at   TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    observed_at TEXT NOT NULL,
    cleared_at  TEXT
);
-- One open finding per (kind, subject); cleared ones keep their history.
CREATE UNIQUE INDEX findings_open ON findings(kind, subject) WHERE cleared_at IS NULL;
CREATE INDEX findings_cabinet ON findings(cabinet) WHERE cleared_at IS NULL;
CREATE INDEX findings_alert ON findings(alert_id);

CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY,
    ref              TEXT NOT NULL UNIQUE,  -- opaque id, the only identifier external channels carry
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,         -- the group: cabinet/<code> for per-item kinds
    severity         TEXT NOT NULL CHECK (severity IN ('info','warning','major','critical')),
    state            TEXT NOT NULL CHECK (state IN ('open','acknowledged','resolved')),
    cabinet          TEXT NOT NULL DEFAULT '',
    room             TEXT NOT NULL DEFAULT '',
    agent            TEXT NOT NULL DEFAULT '',
    level            TEXT NOT NULL DEFAULT '', -- highest level among its findings
    confirmed_loss   INTEGER NOT NULL DEFAULT 0,
    count            INTEGER NOT NULL DEFAULT 0, -- open findings in the group
    suppressed_by    TEXT NOT NULL DEFAULT '',   -- alert ref of an inhibiting agent_offline alert
    opened_at        TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    acked_by         TEXT NOT NULL DEFAULT '',
    acked_at         TEXT,
    ack_note         TEXT NOT NULL DEFAULT '',
    resolved_by      TEXT NOT NULL DEFAULT '',
    resolved_at      TEXT,
    resolve_note     TEXT NOT NULL DEFAULT '',
    version          INTEGER NOT NULL DEFAULT 1, -- bumped by every change; MQTT publishing catches up to it
    published        INTEGER NOT NULL DEFAULT 0, -- version last published on the internal MQTT topic
    notified_at      TEXT                        -- last notification of a person (re-notification clock)
);
CREATE UNIQUE INDEX alerts_open ON alerts(kind, subject) WHERE state <> 'resolved';
CREATE INDEX alerts_state ON alerts(state);

-- Escalation history: who was told what, when, through which channel, and how it went.
CREATE TABLE alert_events (
    id       INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL REFERENCES alerts(id),
    at       TEXT NOT NULL,
    event    TEXT NOT NULL,  -- opened, updated, notified, notify_failed, acknowledged, resolved, suppressed, released
    audience TEXT NOT NULL DEFAULT '', -- custodian, leaders, secrecy_office
    channel  TEXT NOT NULL DEFAULT '',
    actor    TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_events_alert ON alert_events(alert_id);

-- Nightly inventory runs: what was commanded, by when it had to answer, and the summary sent.
CREATE TABLE inventory_runs (
    id         INTEGER PRIMARY KEY,
    scheduled  TEXT NOT NULL UNIQUE,   -- the schedule's fire time
    deadline   TEXT NOT NULL,
    commanded  TEXT NOT NULL DEFAULT '[]', -- JSON [{cabinet, agent, error}]
    closed_at  TEXT,
    summary    TEXT NOT NULL DEFAULT ''    -- JSON per unit, written when the deadline passes
);
