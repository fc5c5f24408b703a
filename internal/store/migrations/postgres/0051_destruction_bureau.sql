-- Destruction by the secrecy bureau (issue 14 point 4): an approved batch is handed (送销) to the
-- bureau's courier at the desk — two custodians sign, the bureau's receipt number and the person
-- supervising the destruction (监销人) are recorded — and becomes destroyed only when the bureau's
-- destruction certificate number is entered. Also the courier fields a transit handover uses.
-- Owned by package register.

ALTER TABLE destruction_batches ADD COLUMN sent_at TEXT;
ALTER TABLE destruction_batches ADD COLUMN courier TEXT NOT NULL DEFAULT '';
ALTER TABLE destruction_batches ADD COLUMN bureau_receipt TEXT NOT NULL DEFAULT '';
ALTER TABLE destruction_batches ADD COLUMN supervisor TEXT NOT NULL DEFAULT '';
ALTER TABLE destruction_batches ADD COLUMN certificate_no TEXT NOT NULL DEFAULT '';
ALTER TABLE destruction_batches ADD COLUMN certified_by BIGINT REFERENCES people(id);

ALTER TABLE sessions ADD COLUMN courier TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN supervisor TEXT NOT NULL DEFAULT '';
