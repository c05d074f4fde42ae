package httpapi

// lifecycleRoutes are the routes of tenant cancellation and restore.
func (s *Server) lifecycleRoutes() []Route { return nil }
