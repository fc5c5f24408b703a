-- Cabinet alarms (issue 15). Owned by package alert.
-- urgent: the finding makes its alert critical whatever the kind's base severity (power_lost
-- while the door opens or the controller goes silent on battery).
ALTER TABLE findings ADD COLUMN urgent BIGINT NOT NULL DEFAULT 0;
-- incident: the cabinet alarm (forced door, tamper, power) an alert belongs to — the missing
-- copies found by the inventory the alarm triggered are one story with it.
ALTER TABLE alerts ADD COLUMN incident_id BIGINT REFERENCES alerts(id);
CREATE INDEX alerts_incident ON alerts(incident_id) WHERE incident_id IS NOT NULL;
