package httpapi

// contactRoutes are the routes of external contacts and the external-talk
// policy.
func (s *Server) contactRoutes() []Route { return nil }
