-- Which custodyd build applied each migration (issue 16): a custodyd that finds a migration it
-- does not know refuses to start and names the build that wrote it. Rows applied before this
-- migration keep '' (unknown).
ALTER TABLE schema_migrations ADD COLUMN written_by TEXT NOT NULL DEFAULT '';
