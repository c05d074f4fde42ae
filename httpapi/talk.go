package httpapi

import (
	"maps"
	"net/http"
	"strconv"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/service"
)

// talkRoutes are the routes of rooms, messages and the event stream.
func (s *Server) talkRoutes() []Route {
	return []Route{
		{"GET", "/api/v1/rooms", Session, s.listRooms},
		{"POST", "/api/v1/rooms", Session, s.createRoom},
		{"POST", "/api/v1/rooms/direct", Session, s.openDirect},
		{"GET", "/api/v1/rooms/{id}", Session, s.getRoom},
		{"PATCH", "/api/v1/rooms/{id}", Session, s.renameRoom},
		{"POST", "/api/v1/rooms/{id}/members", Session, s.addRoomMembers},
		{"DELETE", "/api/v1/rooms/{id}/members/{account_id}", Session, s.removeRoomMember},
		{"GET", "/api/v1/rooms/{id}/messages", Session, s.history},
		{"POST", "/api/v1/rooms/{id}/messages", Session, s.sendMessage},
		{"PATCH", "/api/v1/rooms/{id}/messages/{seq}", Session, s.editMessage},
		{"DELETE", "/api/v1/rooms/{id}/messages/{seq}", Session, s.deleteMessage},
		{"POST", "/api/v1/rooms/{id}/read", Session, s.markRead},
		{"GET", "/api/v1/unread", Session, s.unread},
		{"GET", "/api/v1/messages/search", Session, s.searchMessages},
		{"GET", "/api/v1/events", Stream, s.events},
	}
}

// roomJSON is a room as its member sees it.
type roomJSON struct {
	service.RoomView
	Peer    *personJSON      `json:"peer,omitempty"`
	Members []roomMemberJSON `json:"members,omitempty"`
}

type roomMemberJSON struct {
	personJSON
	RoomRole    kizuna.RoomRole `json:"room_role"`
	LastReadSeq int64           `json:"last_read_seq"`
}

func toRoom(v *service.RoomView) roomJSON {
	out := roomJSON{RoomView: *v}
	if v.Peer != nil {
		p := toPerson(*v.Peer)
		out.Peer = &p
	}
	for _, m := range v.Members {
		out.Members = append(out.Members, roomMemberJSON{personJSON: toPerson(m.Person), RoomRole: m.Role, LastReadSeq: m.LastReadSeq})
	}
	return out
}

func (s *Server) listRooms(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	page, err := s.svc.Talk.Rooms(r.Context(), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := listJSON[roomJSON]{Items: make([]roomJSON, len(page.Items)), NextCursor: page.NextCursor}
	for i := range page.Items {
		out.Items[i] = toRoom(&page.Items[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type createRoomRequest struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

func (s *Server) createRoom(w http.ResponseWriter, r *http.Request) error {
	var req createRoomRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := s.svc.Talk.CreateGroup(r.Context(), req.Name, req.Members)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toRoom(v))
	return nil
}

type directRequest struct {
	// With is the other account: its sign-in ID or account ID.
	With string `json:"with"`
}

func (s *Server) openDirect(w http.ResponseWriter, r *http.Request) error {
	var req directRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, created, err := s.svc.Talk.OpenDirect(r.Context(), req.With)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toRoom(v))
	return nil
}

func (s *Server) getRoom(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Talk.Room(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRoom(v))
	return nil
}

type renameRoomRequest struct {
	Name string `json:"name"`
}

func (s *Server) renameRoom(w http.ResponseWriter, r *http.Request) error {
	var req renameRoomRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := s.svc.Talk.Rename(r.Context(), r.PathValue("id"), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRoom(v))
	return nil
}

type addRoomMembersRequest struct {
	Members []string `json:"members"`
}

func (s *Server) addRoomMembers(w http.ResponseWriter, r *http.Request) error {
	var req addRoomMembersRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := s.svc.Talk.AddMembers(r.Context(), r.PathValue("id"), req.Members)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRoom(v))
	return nil
}

func (s *Server) removeRoomMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Talk.RemoveMember(r.Context(), r.PathValue("id"), r.PathValue("account_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// queryInt64 reads an optional non-negative integer query parameter.
func queryInt64(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, kizuna.Errorf(kizuna.ErrInvalid, "invalid_"+name, "%s must be a non-negative integer.", name)
	}
	return n, nil
}

// pathSeq reads the {seq} of a message path.
func pathSeq(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || n <= 0 {
		return 0, kizuna.NotFound("Message")
	}
	return n, nil
}

func (s *Server) history(w http.ResponseWriter, r *http.Request) error {
	before, err := queryInt64(r, "before")
	if err != nil {
		return err
	}
	after, err := queryInt64(r, "after")
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	h, err := s.svc.Talk.History(r.Context(), r.PathValue("id"), before, after, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

type sendRequest struct {
	ClientMsgID string   `json:"client_msg_id"`
	Body        string   `json:"body"`
	ReplyTo     int64    `json:"reply_to,omitempty"`
	Mentions    []string `json:"mentions,omitempty"`
}

type sentJSON struct {
	service.MessageView
	// Duplicate is set when the client_msg_id was already stored: this is
	// the message stored then.
	Duplicate bool `json:"duplicate"`
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request) error {
	var req sendRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	m, dup, err := s.svc.Talk.Send(r.Context(), r.PathValue("id"), service.SendInput{ClientMsgID: req.ClientMsgID, Body: req.Body, ReplyTo: req.ReplyTo, Mentions: req.Mentions})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if dup {
		status = http.StatusOK
	}
	writeJSON(w, status, sentJSON{MessageView: *m, Duplicate: dup})
	return nil
}

type editRequest struct {
	Body string `json:"body"`
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request) error {
	seq, err := pathSeq(r)
	if err != nil {
		return err
	}
	var req editRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	m, err := s.svc.Talk.Edit(r.Context(), r.PathValue("id"), seq, req.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request) error {
	seq, err := pathSeq(r)
	if err != nil {
		return err
	}
	if err := s.svc.Talk.Delete(r.Context(), r.PathValue("id"), seq); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type readRequest struct {
	Seq int64 `json:"seq"`
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request) error {
	var req readRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.svc.Talk.MarkRead(r.Context(), r.PathValue("id"), req.Seq); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) unread(w http.ResponseWriter, r *http.Request) error {
	u, err := s.svc.Talk.Unread(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) searchMessages(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.svc.Talk.Search(r.Context(), q.Get("q"), q.Get("cursor"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[service.MessageView]{Items: page.Items, NextCursor: page.NextCursor})
	return nil
}

func init() {
	roomErrors := []string{"not_found"}
	maps.Copy(operations, map[string]operation{
		"GET /api/v1/rooms": {summary: "The signed-in account's rooms, most recently active first, with unread counts and the external mark.",
			description: "external is true when the room holds anybody outside the viewer's tenant (R3); direct rooms carry the other person as peer.",
			query:       []string{"cursor", "limit"}, response: listJSON[roomJSON]{}, status: 200, errors: []string{"invalid_cursor", "invalid_limit"}},
		"POST /api/v1/rooms": {summary: "Create a group room; the creator is its manager.",
			description: "members are sign-in IDs or account IDs. People outside the tenant must be accepted external contacts that both tenants' policies allow.",
			request:     createRoomRequest{}, response: roomJSON{}, status: 201, errors: []string{"invalid_room_name", "account_not_found", "contact_required", "external_talk_forbidden", "room_full"}},
		"POST /api/v1/rooms/direct": {summary: "Open the one-to-one room with another account (201 when created, 200 when it existed).",
			request: directRequest{}, response: roomJSON{}, status: 201, errors: []string{"account_not_found", "cannot_talk_to_self", "contact_required", "external_talk_forbidden"}},
		"GET /api/v1/rooms/{id}": {summary: "A room with its members, each with their relation to the viewer and its reason.",
			description: "read_only is set, with read_only_reason, when the external-talk policy no longer lets the viewer write here; nothing was deleted.",
			response:    roomJSON{}, status: 200, errors: roomErrors},
		"PATCH /api/v1/rooms/{id}": {summary: "Rename a group room (its managers).", request: renameRoomRequest{}, response: roomJSON{}, status: 200,
			errors: []string{"not_found", "invalid_room_name", "direct_room", "room_manager_required"}},
		"POST /api/v1/rooms/{id}/members": {summary: "Invite accounts into a group room (any member).", request: addRoomMembersRequest{}, response: roomJSON{}, status: 200,
			errors: []string{"not_found", "direct_room", "group_room", "invalid_members", "account_not_found", "contact_required", "external_talk_forbidden", "room_full"}},
		"DELETE /api/v1/rooms/{id}/members/{account_id}": {summary: "Remove a member (managers) or leave (one's own account ID).", status: 204,
			description: "When the last manager leaves, the longest-standing member becomes manager.",
			errors:      []string{"not_found", "direct_room", "group_room", "room_manager_required"}},
		"GET /api/v1/rooms/{id}/messages": {summary: "A page of history in ascending seq order: before a seq (default: the newest), or after one.",
			description: "Each message carries read_by, the number of other members whose read position reached it.",
			query:       []string{"before", "after", "limit"}, response: service.History{}, status: 200, errors: []string{"not_found", "invalid_range", "invalid_before", "invalid_after", "invalid_limit"}},
		"POST /api/v1/rooms/{id}/messages": {summary: "Send a message. A retry with the same client_msg_id is stored once and answered 200 with the stored message.",
			request: sendRequest{}, response: sentJSON{}, status: 201,
			errors: []string{"not_found", "invalid_message", "message_too_long", "invalid_client_msg_id", "invalid_reply_to", "invalid_mentions", "external_talk_forbidden", "contact_required"}},
		"PATCH /api/v1/rooms/{id}/messages/{seq}": {summary: "Edit one's own message; it shows as edited.", request: editRequest{}, response: service.MessageView{}, status: 200,
			errors: []string{"not_found", "not_sender", "message_deleted", "invalid_message", "message_too_long", "external_talk_forbidden"}},
		"DELETE /api/v1/rooms/{id}/messages/{seq}": {summary: "Delete one's own message; it stays in the history as deleted, without its text.", status: 204,
			errors: []string{"not_found", "not_sender"}},
		"POST /api/v1/rooms/{id}/read": {summary: "Move the read position forward to seq (never back).", request: readRequest{}, status: 204, errors: []string{"not_found", "invalid_seq"}},
		"GET /api/v1/unread":           {summary: "Unread counts per room (rooms with none are left out) and their total.", response: service.Unread{}, status: 200},
		"GET /api/v1/messages/search": {summary: "Messages containing q in the rooms the account is in, newest first.", query: []string{"q", "cursor", "limit"},
			response: listJSON[service.MessageView]{}, status: 200, errors: []string{"invalid_query", "invalid_limit"}},
		"GET /api/v1/events": {summary: "The real-time event stream: a WebSocket carrying events for every account the client holds.",
			description: "Upgrade with the session token in Authorization or as access_token. after=POS resumes after the last position seen: missed events follow in order, rooms with more than 500 missed events get a room.reset frame instead (reload that room's history). See the README for the frames.",
			query:       []string{"after", "access_token"}, status: 101, errors: []string{"resume_position_invalid", "websocket_required"}},
	})
}
