package httpapi

// talkRoutes are the routes of rooms, messages and the event stream.
func (s *Server) talkRoutes() []Route { return nil }
