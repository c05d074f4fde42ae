package httpapi

// reclassificationRoutes are the routes that turn an external contact
// into a member and a member into an external contact.
func (s *Server) reclassificationRoutes() []Route { return nil }
