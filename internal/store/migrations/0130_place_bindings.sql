-- Bindings of cabinets and desks to agents that have ended (issue 12): when a place is bound to
-- another agent, the old binding is kept here with when it ended, and the place records since
-- when its current agent serves it. Ingest asks the register whether an observation refused as
-- not_bound was made while its agent still served that place — a late resend from the agent's
-- outbox after a rebinding, not a forgery (mqtt.md §7, `rebound`). Owned by internal/register.
CREATE TABLE place_bindings (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('cabinet', 'desk')),
    code        TEXT NOT NULL,
    agent       TEXT NOT NULL,
    bound_from  TEXT,            -- NULL: since before bindings were recorded
    bound_until TEXT NOT NULL
);
CREATE INDEX place_bindings_place ON place_bindings(kind, code, agent);

ALTER TABLE cabinets ADD COLUMN agent_since TEXT; -- NULL: unknown (bound before 0130)
ALTER TABLE desks ADD COLUMN agent_since TEXT;
