package httpapi

import (
	"maps"
	"net/http"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/service"
)

// groupRoutes are the routes of groups, boards, restricted members and the
// directory (R10).
func (s *Server) groupRoutes() []Route {
	return []Route{
		{"GET", "/api/v1/groups", Session, s.listGroups},
		{"POST", "/api/v1/groups", Session, s.createGroup},
		{"GET", "/api/v1/groups/{id}", Session, s.getGroup},
		{"PATCH", "/api/v1/groups/{id}", Session, s.updateGroup},
		{"DELETE", "/api/v1/groups/{id}", Session, s.deleteGroup},
		{"GET", "/api/v1/groups/{id}/members", Session, s.groupMembers},
		{"POST", "/api/v1/groups/{id}/members", Session, s.addGroupMembers},
		{"DELETE", "/api/v1/groups/{id}/members/{account_id}", Session, s.removeGroupMember},

		{"GET", "/api/v1/boards", Session, s.listBoards},
		{"POST", "/api/v1/boards", Session, s.createBoard},
		{"GET", "/api/v1/boards/{id}", Session, s.getBoard},
		{"PUT", "/api/v1/boards/{id}", Session, s.updateBoard},
		{"DELETE", "/api/v1/boards/{id}", Session, s.deleteBoard},
		{"GET", "/api/v1/boards/{id}/posts", Session, s.listPosts},
		{"POST", "/api/v1/boards/{id}/posts", Session, s.createPost},
		{"GET", "/api/v1/boards/{id}/posts/{post_id}", Session, s.getPost},
		{"PATCH", "/api/v1/boards/{id}/posts/{post_id}", Session, s.updatePost},
		{"DELETE", "/api/v1/boards/{id}/posts/{post_id}", Session, s.deletePost},
		{"POST", "/api/v1/boards/{id}/posts/{post_id}/comments", Session, s.commentPost},
		{"POST", "/api/v1/boards/{id}/posts/{post_id}/read", Session, s.readPost},
		{"GET", "/api/v1/boards/{id}/posts/{post_id}/readers", Session, s.postReaders},

		{"PUT", "/api/v1/members/{id}/restricted", Session, s.setRestricted},
		{"GET", "/api/v1/tenant/restrictions", Session, s.getRestrictions},
		{"PUT", "/api/v1/tenant/restrictions", Session, s.putRestrictions},
		{"GET", "/api/v1/directory", Session, s.directory},
		{"GET", "/api/v1/members/{id}/view-as", Session, s.viewAs},
	}
}

type groupJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ParentID    string    `json:"parent_id,omitempty"`
	RoomID      string    `json:"room_id,omitempty"`
	MemberCount int       `json:"member_count"`
	MyRole      string    `json:"my_role,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

func toGroup(g service.GroupView) groupJSON {
	return groupJSON{ID: g.ID, Name: g.Name, ParentID: g.ParentID, RoomID: g.RoomID, MemberCount: g.MemberCount, MyRole: string(g.MyRole), CreatedAt: g.CreatedAt}
}

func toGroups(gs []service.GroupView) []groupJSON {
	out := make([]groupJSON, len(gs))
	for i, g := range gs {
		out[i] = toGroup(g)
	}
	return out
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) error {
	gs, err := s.svc.Groups.Groups(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[groupJSON]{Items: toGroups(gs)})
	return nil
}

type createGroupRequest struct {
	Name      string `json:"name"`
	ParentID  string `json:"parent_id,omitempty"`
	WithRoom  bool   `json:"with_room,omitempty"`
	WithBoard bool   `json:"with_board,omitempty"`
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request) error {
	var req createGroupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	g, err := s.svc.Groups.CreateGroup(r.Context(), service.NewGroup{Name: req.Name, ParentID: req.ParentID, WithRoom: req.WithRoom, WithBoard: req.WithBoard})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toGroup(*g))
	return nil
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) error {
	g, err := s.svc.Groups.Group(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toGroup(*g))
	return nil
}

type updateGroupRequest struct {
	Name     *string `json:"name,omitempty"`
	ParentID *string `json:"parent_id,omitempty"`
}

func (s *Server) updateGroup(w http.ResponseWriter, r *http.Request) error {
	var req updateGroupRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	g, err := s.svc.Groups.UpdateGroup(r.Context(), r.PathValue("id"), req.Name, req.ParentID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toGroup(*g))
	return nil
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Groups.DeleteGroup(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type groupMemberJSON struct {
	personJSON
	GroupRole string `json:"group_role"`
}

func toGroupMembers(ms []service.GroupMemberView) []groupMemberJSON {
	out := make([]groupMemberJSON, len(ms))
	for i, m := range ms {
		out[i] = groupMemberJSON{personJSON: toPerson(m.Person), GroupRole: string(m.Role)}
	}
	return out
}

func (s *Server) groupMembers(w http.ResponseWriter, r *http.Request) error {
	ms, err := s.svc.Groups.Members(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[groupMemberJSON]{Items: toGroupMembers(ms)})
	return nil
}

type addGroupMembersRequest struct {
	Members []string `json:"members"`
	Role    string   `json:"role,omitempty"`
}

func (s *Server) addGroupMembers(w http.ResponseWriter, r *http.Request) error {
	var req addGroupMembersRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	ms, err := s.svc.Groups.AddMembers(r.Context(), r.PathValue("id"), req.Members, kizuna.GroupRole(req.Role))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[groupMemberJSON]{Items: toGroupMembers(ms)})
	return nil
}

func (s *Server) removeGroupMember(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Groups.RemoveMember(r.Context(), r.PathValue("id"), r.PathValue("account_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type boardJSON struct {
	ID              string             `json:"id"`
	Name            string             `json:"name"`
	GroupID         string             `json:"group_id,omitempty"`
	AllowRestricted bool               `json:"allow_restricted"`
	Rules           []kizuna.BoardRule `json:"rules"`
	CanWrite        bool               `json:"can_write"`
	CanManage       bool               `json:"can_manage"`
	CreatedAt       time.Time          `json:"created_at"`
}

func toBoard(b service.BoardView) boardJSON {
	out := boardJSON{ID: b.ID, Name: b.Name, GroupID: b.GroupID, AllowRestricted: b.AllowRestricted, Rules: b.Rules, CanWrite: b.CanWrite, CanManage: b.CanManage, CreatedAt: b.CreatedAt}
	if !b.CanManage {
		out.Rules = nil // who else may read it is the managers' business
	}
	return out
}

func toBoards(bs []service.BoardView) []boardJSON {
	out := make([]boardJSON, len(bs))
	for i, b := range bs {
		out[i] = toBoard(b)
	}
	return out
}

func (s *Server) listBoards(w http.ResponseWriter, r *http.Request) error {
	bs, err := s.svc.Groups.Boards(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[boardJSON]{Items: toBoards(bs)})
	return nil
}

type boardRequest struct {
	Name            string             `json:"name"`
	GroupID         string             `json:"group_id,omitempty"`
	AllowRestricted bool               `json:"allow_restricted,omitempty"`
	Rules           []kizuna.BoardRule `json:"rules"`
}

func (s *Server) createBoard(w http.ResponseWriter, r *http.Request) error {
	var req boardRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	b, err := s.svc.Groups.CreateBoard(r.Context(), service.BoardInput{Name: req.Name, GroupID: req.GroupID, AllowRestricted: req.AllowRestricted, Rules: req.Rules})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toBoard(*b))
	return nil
}

func (s *Server) getBoard(w http.ResponseWriter, r *http.Request) error {
	b, err := s.svc.Groups.Board(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toBoard(*b))
	return nil
}

func (s *Server) updateBoard(w http.ResponseWriter, r *http.Request) error {
	var req boardRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	b, err := s.svc.Groups.UpdateBoard(r.Context(), r.PathValue("id"), service.BoardInput{Name: req.Name, AllowRestricted: req.AllowRestricted, Rules: req.Rules})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toBoard(*b))
	return nil
}

func (s *Server) deleteBoard(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Groups.DeleteBoard(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type postJSON struct {
	ID           string        `json:"id"`
	BoardID      string        `json:"board_id"`
	AuthorID     string        `json:"author_id"`
	Title        string        `json:"title"`
	Body         string        `json:"body"`
	Pinned       bool          `json:"pinned"`
	MustRead     bool          `json:"must_read"`
	Comments     int           `json:"comments"`
	Readers      int           `json:"readers"`
	ReadByMe     bool          `json:"read_by_me"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	CommentItems []commentJSON `json:"comment_items,omitempty"`
}

type commentJSON struct {
	ID        string    `json:"id"`
	AuthorID  string    `json:"author_id"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

func toPost(p *kizuna.Post) postJSON {
	return postJSON{ID: p.ID, BoardID: p.BoardID, AuthorID: p.AuthorID, Title: p.Title, Body: p.Body, Pinned: p.Pinned, MustRead: p.MustRead,
		Comments: p.Comments, Readers: p.Readers, ReadByMe: p.ReadByViewer, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

func toComment(c *kizuna.Comment) commentJSON {
	return commentJSON{ID: c.ID, AuthorID: c.AuthorID, Body: c.Body, CreatedAt: c.CreatedAt}
}

func (s *Server) listPosts(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	page, err := s.svc.Groups.Posts(r.Context(), r.PathValue("id"), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := listJSON[postJSON]{Items: make([]postJSON, len(page.Items)), NextCursor: page.NextCursor}
	for i, p := range page.Items {
		out.Items[i] = toPost(p)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type postRequest struct {
	Title    string `json:"title"`
	Body     string `json:"body"`
	Pinned   bool   `json:"pinned,omitempty"`
	MustRead bool   `json:"must_read,omitempty"`
}

func (s *Server) createPost(w http.ResponseWriter, r *http.Request) error {
	var req postRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.svc.Groups.CreatePost(r.Context(), r.PathValue("id"), service.PostInput{Title: req.Title, Body: req.Body, Pinned: req.Pinned, MustRead: req.MustRead})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toPost(p))
	return nil
}

func (s *Server) getPost(w http.ResponseWriter, r *http.Request) error {
	d, err := s.svc.Groups.Post(r.Context(), r.PathValue("id"), r.PathValue("post_id"))
	if err != nil {
		return err
	}
	out := toPost(d.Post)
	out.CommentItems = []commentJSON{}
	for _, c := range d.Comments {
		out.CommentItems = append(out.CommentItems, toComment(c))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) updatePost(w http.ResponseWriter, r *http.Request) error {
	var req postRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.svc.Groups.UpdatePost(r.Context(), r.PathValue("id"), r.PathValue("post_id"), service.PostInput{Title: req.Title, Body: req.Body, Pinned: req.Pinned, MustRead: req.MustRead})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toPost(p))
	return nil
}

func (s *Server) deletePost(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Groups.DeletePost(r.Context(), r.PathValue("id"), r.PathValue("post_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type commentRequest struct {
	Body string `json:"body"`
}

func (s *Server) commentPost(w http.ResponseWriter, r *http.Request) error {
	var req commentRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.svc.Groups.Comment(r.Context(), r.PathValue("id"), r.PathValue("post_id"), req.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toComment(c))
	return nil
}

func (s *Server) readPost(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Groups.MarkRead(r.Context(), r.PathValue("id"), r.PathValue("post_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) postReaders(w http.ResponseWriter, r *http.Request) error {
	people, err := s.svc.Groups.Readers(r.Context(), r.PathValue("id"), r.PathValue("post_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listJSON[personJSON]{Items: toPeople(people)})
	return nil
}

type restrictedRequest struct {
	Restricted bool `json:"restricted"`
}

func (s *Server) setRestricted(w http.ResponseWriter, r *http.Request) error {
	var req restrictedRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.svc.Groups.SetRestricted(r.Context(), r.PathValue("id"), req.Restricted); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}

func (s *Server) getRestrictions(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.svc.Groups.Restrictions(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rs)
	return nil
}

func (s *Server) putRestrictions(w http.ResponseWriter, r *http.Request) error {
	var req kizuna.Restrictions
	if err := decode(w, r, &req); err != nil {
		return err
	}
	rs, err := s.svc.Groups.SetRestrictions(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rs)
	return nil
}

type directoryJSON struct {
	People  []personJSON `json:"people"`
	Groups  []groupJSON  `json:"groups"`
	Limited bool         `json:"limited"`
}

func toDirectory(d *service.DirectoryResult) directoryJSON {
	return directoryJSON{People: toPeople(d.People), Groups: toGroups(d.Groups), Limited: d.Limited}
}

func (s *Server) directory(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	d, err := s.svc.Groups.Directory(r.Context(), r.URL.Query().Get("q"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toDirectory(d))
	return nil
}

type viewAsJSON struct {
	Member     personJSON    `json:"member"`
	Restricted bool          `json:"restricted"`
	Directory  directoryJSON `json:"directory"`
	Boards     []boardJSON   `json:"boards"`
}

func (s *Server) viewAs(w http.ResponseWriter, r *http.Request) error {
	var restricted *bool
	switch r.URL.Query().Get("restricted") {
	case "":
	case "true":
		t := true
		restricted = &t
	case "false":
		f := false
		restricted = &f
	default:
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_query", "restricted must be true or false.")
	}
	v, err := s.svc.Groups.ViewAs(r.Context(), r.PathValue("id"), restricted)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAsJSON{Member: toPerson(v.Member), Restricted: v.Restricted, Directory: toDirectory(v.Directory), Boards: toBoards(v.Boards)})
	return nil
}

func init() {
	hidden := []string{"not_found"}
	maps.Copy(operations, map[string]operation{
		"GET /api/v1/groups": {summary: "The tenant's groups you may see (a restricted member: only their own).", response: listJSON[groupJSON]{}, status: 200, errors: []string{"member_required"}},
		"POST /api/v1/groups": {summary: "Create a group (admins), optionally under a parent, with a room that follows its members and a board.",
			request: createGroupRequest{}, response: groupJSON{}, status: 201, errors: []string{"admin_required", "invalid_name", "parent_not_found"}},
		"GET /api/v1/groups/{id}": {summary: "A group.", response: groupJSON{}, status: 200, errors: hidden},
		"PATCH /api/v1/groups/{id}": {summary: "Rename a group (its managers) or move it in the tree (admins).", request: updateGroupRequest{}, response: groupJSON{}, status: 200,
			errors: []string{"not_found", "group_manager_required", "admin_required", "invalid_name", "parent_not_found", "cyclic_group"}},
		"DELETE /api/v1/groups/{id}":      {summary: "Delete a group without subgroups (admins); its room and board stay.", status: 204, errors: []string{"not_found", "admin_required", "group_has_subgroups"}},
		"GET /api/v1/groups/{id}/members": {summary: "A group's members, each with their relation.", response: listJSON[groupMemberJSON]{}, status: 200, errors: hidden},
		"POST /api/v1/groups/{id}/members": {summary: "Add members (its managers, admins); the group's room follows.",
			description: "Only the tenant's internal members can join. An external ID is refused with not_internal and what to do instead: issue the person an ID in one of your domains or send an invite link (R8).",
			request:     addGroupMembersRequest{}, response: listJSON[groupMemberJSON]{}, status: 200, errors: []string{"not_found", "group_manager_required", "not_internal", "account_not_found", "invalid_members", "invalid_role"}},
		"DELETE /api/v1/groups/{id}/members/{account_id}": {summary: "Remove a member (managers, admins) or leave (your own ID).", status: 204, errors: []string{"not_found", "group_manager_required"}},
		"GET /api/v1/boards":                              {summary: "The boards you may read, with your rights; rules only where you manage.", response: listJSON[boardJSON]{}, status: 200, errors: []string{"member_required"}},
		"POST /api/v1/boards": {summary: "Create a board (admins) with rules: who reads, writes and manages — the tenant, groups or members — and whether restricted members may see it.",
			request: boardRequest{}, response: boardJSON{}, status: 201, errors: []string{"admin_required", "invalid_name", "invalid_rules", "invalid_group"}},
		"GET /api/v1/boards/{id}": {summary: "A board you may read; a board you may not read answers exactly like a missing one.", response: boardJSON{}, status: 200, errors: hidden},
		"PUT /api/v1/boards/{id}": {summary: "Replace a board's name, restricted flag and rules (its managers); audited with before and after.", request: boardRequest{}, response: boardJSON{}, status: 200,
			errors: []string{"not_found", "board_manager_required", "invalid_name", "invalid_rules"}},
		"DELETE /api/v1/boards/{id}":    {summary: "Delete a board and its posts (its managers).", status: 204, errors: []string{"not_found", "board_manager_required"}},
		"GET /api/v1/boards/{id}/posts": {summary: "A board's posts: pinned first, then newest first.", query: []string{"cursor", "limit"}, response: listJSON[postJSON]{}, status: 200, errors: []string{"not_found", "invalid_limit"}},
		"POST /api/v1/boards/{id}/posts": {summary: "Post on a board you may write on; managers may pin and mark mandatory reading.", request: postRequest{}, response: postJSON{}, status: 201,
			errors: []string{"not_found", "board_write_required", "board_manager_required", "invalid_post"}},
		"GET /api/v1/boards/{id}/posts/{post_id}": {summary: "A post with its comments.", response: postJSON{}, status: 200, errors: hidden},
		"PATCH /api/v1/boards/{id}/posts/{post_id}": {summary: "Change a post (its author or the board's managers; only managers pin).", request: postRequest{}, response: postJSON{}, status: 200,
			errors: []string{"not_found", "not_author", "board_manager_required", "invalid_post"}},
		"DELETE /api/v1/boards/{id}/posts/{post_id}":        {summary: "Delete a post (its author or the board's managers).", status: 204, errors: []string{"not_found", "not_author"}},
		"POST /api/v1/boards/{id}/posts/{post_id}/comments": {summary: "Comment on a post of a board you may read.", request: commentRequest{}, response: commentJSON{}, status: 201, errors: []string{"not_found", "invalid_comment"}},
		"POST /api/v1/boards/{id}/posts/{post_id}/read":     {summary: "Mark a post read (for mandatory-read posts: who has read it).", status: 204, errors: hidden},
		"GET /api/v1/boards/{id}/posts/{post_id}/readers":   {summary: "Who has read a post (its author and the board's managers).", response: listJSON[personJSON]{}, status: 200, errors: []string{"not_found", "not_author"}},
		"PUT /api/v1/members/{id}/restricted": {summary: "Mark a member restricted or not (admins, R10); audited.",
			description: "A restricted member talks in their rooms and belongs to groups, but by default sees only the boards opened to them and only part of the directory, and cannot create invite links or add external contacts (see /tenant/restrictions).",
			request:     restrictedRequest{}, response: restrictedRequest{}, status: 200, errors: []string{"admin_required", "not_found", "cannot_restrict_self"}},
		"GET /api/v1/tenant/restrictions": {summary: "What restriction means in your tenant.", response: kizuna.Restrictions{}, status: 200, errors: []string{"member_required"}},
		"PUT /api/v1/tenant/restrictions": {summary: "Change what restriction means in your tenant (admins); audited.", request: kizuna.Restrictions{}, response: kizuna.Restrictions{}, status: 200, errors: []string{"admin_required"}},
		"GET /api/v1/directory": {summary: "Search the tenant's members and groups by the start of a name or ID, case- and width-insensitively (ｻﾄｳ finds サトウ, ＳＡＴＯ finds sato).",
			description: "limited is true for a restricted member, who finds only the members of their groups and the people they talk with.",
			query:       []string{"q", "limit"}, response: directoryJSON{}, status: 200, errors: []string{"member_required", "invalid_query", "invalid_limit"}},
		"GET /api/v1/members/{id}/view-as": {summary: "See exactly what a member sees — directory, groups, boards (admins); restricted=true|false previews a change first.",
			query: []string{"restricted"}, response: viewAsJSON{}, status: 200, errors: []string{"admin_required", "not_found", "invalid_query"}},
	})
}
