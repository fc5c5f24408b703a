package ctl

// alert resolve is alert ack's step with other words (alert_ack.go).
func init() {
	add(defineNew("alert resolve", "ID", "resolve an alert, with a note (required)",
		func() *alertStepArgs { return &alertStepArgs{path: "resolve", zh: "解除", en: "resolve"} }))
}
