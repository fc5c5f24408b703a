-- The MAC algorithm each agent was enrolled with (issue 20): its envelopes must name and use it,
-- and custodyd's commands to it use it too. An envelope naming another is dropped as mac_alg (a
-- downgrade is a counted drop, never a fallback). Agents enrolled before this are HMAC-SHA256.
ALTER TABLE agents ADD COLUMN mac_alg TEXT NOT NULL DEFAULT 'hmac-sha256' CHECK (mac_alg IN ('hmac-sha256', 'hmac-sm3'));
