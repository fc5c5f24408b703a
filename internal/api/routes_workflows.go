package api

// workflowRoutes are the custodian's desk flows (handover, borrowing, approvals, …).
func (s *Server) workflowRoutes() []route { return nil }
