package store

// SetAuditRecheck sets how many verified records VerifyAuditSince recomputes again, until the
// test ends.
func SetAuditRecheck(t interface{ Cleanup(func()) }, n int64) {
	was := auditRecheck
	auditRecheck = n
	t.Cleanup(func() { auditRecheck = was })
}
