package api

// alertRoutes are reconciliation findings, alerts and inventory schedules.
func (s *Server) alertRoutes() []route { return nil }
