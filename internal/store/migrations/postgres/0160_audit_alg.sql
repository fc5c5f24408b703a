-- Each audit record names the hash it was sealed with (issue 20): 'sha256' under the standard
-- crypto profile, 'sm3' under the 国密 one. '' is a record written before records named it:
-- SHA-256 over the v1 encoding (package audit). A chain changes algorithm only at a marked
-- record (action 'audit.profile'). Adding a column fires no trigger: the chain stays append-only.
ALTER TABLE audit ADD COLUMN alg TEXT NOT NULL DEFAULT '' CHECK (alg IN ('', 'sha256', 'sm3'));
