-- Issue 13: approvals, signatures and 三员 that cannot be bypassed.

-- Units form a tree (a department under an office), so "the authority above" exists.
ALTER TABLE units ADD COLUMN parent_id INTEGER REFERENCES units(id);

-- A desk belongs to a unit like a cabinet: a custodian runs handovers only at the desks of the
-- units they are custodian for.
ALTER TABLE desks ADD COLUMN unit_id INTEGER REFERENCES units(id);

-- Approval authority and rights granted by the security administrator (安全保密管理员), never
-- by the system administrator and never named by a request:
--   principal_leader  the unit's principal leader (单位主要领导), per unit
--   secrecy_leader    the leader in charge of secrecy work (分管保密工作的领导), per unit
--   backup            may take a backup of the register (unit_id NULL)
CREATE TABLE person_grants (
    person_id  INTEGER NOT NULL REFERENCES people(id),
    grant_kind TEXT NOT NULL CHECK (grant_kind IN ('principal_leader','secrecy_leader','backup')),
    unit_id    INTEGER REFERENCES units(id),
    granted_by INTEGER NOT NULL REFERENCES people(id),
    granted_at TEXT NOT NULL
);
CREATE UNIQUE INDEX person_grants_unique ON person_grants(person_id, grant_kind, coalesce(unit_id, 0));

-- The approval policy: per approval kind and secrecy level (and optionally per unit), who
-- decides. level '*' matches every level; unit_id NULL is the default for every unit. Edited by
-- the security administrator only; the defaults below follow common practice (docs/register.md).
--   principal_leader  the owning unit's principal leader
--   leader            a leader of the owning unit
--   secrecy_leader    the owning unit's leader in charge of secrecy work
--   issuing_unit      a leader of the document's issuing unit, recording the consent's document number
CREATE TABLE approval_policy (
    kind       TEXT NOT NULL CHECK (kind IN ('take_out','reproduce','destruction','scope')),
    level      TEXT NOT NULL CHECK (level IN ('top-secret','secret','confidential','*')),
    unit_id    INTEGER REFERENCES units(id),
    decider    TEXT NOT NULL CHECK (decider IN ('principal_leader','leader','secrecy_leader','issuing_unit')),
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX approval_policy_unique ON approval_policy(kind, level, coalesce(unit_id, 0));
INSERT INTO approval_policy(kind, level, unit_id, decider, updated_by, updated_at) VALUES
    ('take_out',    'top-secret',   NULL, 'principal_leader', 'system', '2026-12-06T00:00:00Z'),
    ('take_out',    'secret',       NULL, 'leader',           'system', '2026-12-06T00:00:00Z'),
    ('take_out',    'confidential', NULL, 'leader',           'system', '2026-12-06T00:00:00Z'),
    ('reproduce',   'top-secret',   NULL, 'principal_leader', 'system', '2026-12-06T00:00:00Z'),
    ('reproduce',   'secret',       NULL, 'leader',           'system', '2026-12-06T00:00:00Z'),
    ('reproduce',   'confidential', NULL, 'leader',           'system', '2026-12-06T00:00:00Z'),
    ('destruction', '*',            NULL, 'secrecy_leader',   'system', '2026-12-06T00:00:00Z'),
    ('scope',       '*',            NULL, 'issuing_unit',     'system', '2026-12-06T00:00:00Z');

-- An approval records the level it was asked at, the second person of a top-secret carry-out
-- (two named persons, both signing) and, for scope widening, the issuing unit's consent.
ALTER TABLE approvals ADD COLUMN level TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN companion_id INTEGER REFERENCES people(id);
ALTER TABLE approvals ADD COLUMN consent_ref TEXT NOT NULL DEFAULT '';

-- A badge whose PIN is '' has none yet (new, or reset by an administrator): it signs nothing
-- until its holder chooses a PIN. Existing PINs were set by an administrator under the old
-- model, so every badge must be given a new PIN by its holder.
UPDATE badges SET pin_hash = '', failed_pins = 0;

-- Signatures on a handover: who signed with which badge, when, at which desk and in which part
-- (counterpart, companion of a top-secret carry-out, second custodian). Shown on the receipt.
CREATE TABLE signatures (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    person_id  INTEGER NOT NULL REFERENCES people(id),
    badge      TEXT NOT NULL,
    part       TEXT NOT NULL CHECK (part IN ('counterpart','companion','second_custodian')),
    desk       TEXT NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX signatures_session ON signatures(session_id);
ALTER TABLE sessions ADD COLUMN companion_id INTEGER REFERENCES people(id);
