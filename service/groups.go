package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/store"
)

// GroupService runs groups, boards, restricted members and the directory
// (R10). What a viewer may see is decided by kizuna.Viewer; this service
// loads the viewer and applies it.
type GroupService struct{ *deps }

var (
	errGroupHidden = kizuna.NotFound("Group")
	// A board the viewer may not read answers exactly like a missing one.
	errBoardHidden = kizuna.NotFound("Board")
	errPostHidden  = kizuna.NotFound("Post")
)

// viewerOf loads what decides what an account sees.
func (d *deps) viewerOf(ctx context.Context, a *kizuna.Account) (kizuna.Viewer, error) {
	v := kizuna.Viewer{AccountID: a.ID, Groups: map[string]bool{}}
	if a.Kind != kizuna.KindMember {
		return v, nil // personal accounts have no tenant: they see no boards or directory
	}
	v.TenantID, v.Admin = a.TenantID, a.Role.IsAdmin()
	r, err := d.store.Restricted(ctx, []string{a.ID})
	if err != nil {
		return v, err
	}
	v.Restricted = r[a.ID]
	if v.Restrictions, err = d.store.TenantRestrictions(ctx, a.TenantID); err != nil {
		return v, err
	}
	groups, err := d.store.GroupsOf(ctx, a.ID)
	for _, g := range groups {
		v.Groups[g] = true
	}
	return v, err
}

// restrictedFrom refuses an act a restricted member may not do in their
// tenant (R10); which acts is the tenant's setting.
func (d *deps) restrictedFrom(ctx context.Context, a *kizuna.Account, applies func(kizuna.Restrictions) bool, what string) error {
	if a.Kind != kizuna.KindMember || a.Role.IsAdmin() {
		return nil
	}
	r, err := d.store.Restricted(ctx, []string{a.ID})
	if err != nil || !r[a.ID] {
		return err
	}
	rs, err := d.store.TenantRestrictions(ctx, a.TenantID)
	if err != nil {
		return err
	}
	if applies(rs) {
		return kizuna.Errorf(kizuna.ErrForbidden, "restricted_member", "Restricted members cannot %s in this tenant; ask an admin.", what)
	}
	return nil
}

// GroupView is a group with the viewer's place in it.
type GroupView struct {
	kizuna.Group
	// MyRole is the viewer's role in the group, "" when not a member.
	MyRole kizuna.GroupRole
}

// Groups lists the groups the viewer may see: all of the tenant's, or
// only their own for a restricted member whose directory is limited.
func (s *GroupService) Groups(ctx context.Context) ([]GroupView, error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.viewerOf(ctx, actor.Account)
	if err != nil {
		return nil, err
	}
	return s.groupsFor(ctx, v)
}

func (s *GroupService) groupsFor(ctx context.Context, v kizuna.Viewer) ([]GroupView, error) {
	all, err := s.store.TenantGroups(ctx, v.TenantID)
	if err != nil {
		return nil, err
	}
	out := []GroupView{}
	for _, g := range all {
		if v.DirectoryLimited() && !v.Groups[g.ID] {
			continue
		}
		out = append(out, GroupView{Group: g})
	}
	return out, nil
}

// visibleGroup returns a group the actor may see.
func (s *GroupService) visibleGroup(ctx context.Context, actor *kizuna.Actor, id string) (*kizuna.Group, kizuna.Viewer, error) {
	v, err := s.viewerOf(ctx, actor.Account)
	if err != nil {
		return nil, v, err
	}
	if len(id) > 64 {
		return nil, v, errGroupHidden
	}
	g, err := s.store.Group(ctx, actor.Account.TenantID, id)
	if errors.Is(err, kizuna.ErrNotFound) || (err == nil && v.DirectoryLimited() && !v.Groups[id]) {
		return nil, v, errGroupHidden
	}
	return g, v, err
}

// NewGroup is a group to create.
type NewGroup struct {
	Name     string
	ParentID string
	// WithRoom gives the group a room whose members follow the group.
	WithRoom bool
	// WithBoard gives the group a board its members read and write.
	WithBoard bool
}

// CreateGroup creates a group with the admin as its first manager.
// Errors: forbidden "admin_required"; invalid "invalid_name"; not_found
// "parent_not_found".
func (s *GroupService) CreateGroup(ctx context.Context, in NewGroup) (*GroupView, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	name, err := kizuna.NormalizeGroupName(in.Name, "group")
	if err != nil {
		return nil, err
	}
	g := &kizuna.Group{ID: kizuna.NewID(), TenantID: a.Account.TenantID, Name: name, ParentID: in.ParentID}
	if len(in.ParentID) > 64 {
		return nil, kizuna.Errorf(kizuna.ErrNotFound, "parent_not_found", "The parent group does not exist.")
	}
	if err := s.store.CreateGroup(ctx, g, a.Account.ID); err != nil {
		return nil, err
	}
	if in.WithRoom {
		room := &kizuna.Room{ID: kizuna.NewID(), Kind: kizuna.RoomGroup, Name: name, CreatedBy: a.Account.ID}
		if _, err := s.talk().submit(ctx, store.TalkOp{Kind: store.OpCreateRoom, ActorID: a.Account.ID, Room: room, AccountIDs: []string{a.Account.ID}}); err != nil {
			return nil, err
		}
		if err := s.store.SetGroupRoom(ctx, g.TenantID, g.ID, room.ID); err != nil {
			return nil, err
		}
		g.RoomID = room.ID
	}
	if in.WithBoard {
		b := &kizuna.Board{ID: kizuna.NewID(), TenantID: g.TenantID, Name: name, GroupID: g.ID,
			Rules: []kizuna.BoardRule{{Right: kizuna.RightWrite, Kind: kizuna.PrincipalGroup, ID: g.ID}}}
		if err := s.store.CreateBoard(ctx, b); err != nil {
			return nil, err
		}
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: g.TenantID, ActorID: a.Account.ID, Action: "group.create", TargetID: g.ID, Target: g.Name})
	return &GroupView{Group: *g, MyRole: kizuna.GroupManager}, nil
}

// Group returns a visible group with the viewer's role in it.
func (s *GroupService) Group(ctx context.Context, id string) (*GroupView, error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, err
	}
	g, _, err := s.visibleGroup(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	role, err := s.roleIn(ctx, g.ID, actor.Account.ID)
	return &GroupView{Group: *g, MyRole: role}, err
}

func (s *GroupService) roleIn(ctx context.Context, groupID, accountID string) (kizuna.GroupRole, error) {
	ms, err := s.store.GroupMembers(ctx, groupID)
	for _, m := range ms {
		if m.AccountID == accountID {
			return m.Role, err
		}
	}
	return "", err
}

// manageable returns a visible group the actor may change: admins every
// group, group managers their own.
func (s *GroupService) manageable(ctx context.Context, id string) (*kizuna.Actor, *kizuna.Group, error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, nil, err
	}
	g, _, err := s.visibleGroup(ctx, actor, id)
	if err != nil {
		return nil, nil, err
	}
	if actor.Account.Role.IsAdmin() {
		return actor, g, nil
	}
	role, err := s.roleIn(ctx, g.ID, actor.Account.ID)
	if err != nil {
		return nil, nil, err
	}
	if role != kizuna.GroupManager {
		return nil, nil, kizuna.Errorf(kizuna.ErrForbidden, "group_manager_required", "Only the group's managers or an admin can do this.")
	}
	return actor, g, nil
}

// UpdateGroup renames a group (its managers) or moves it in the tree
// (admins). Errors: conflict "cyclic_group"; not_found "parent_not_found".
func (s *GroupService) UpdateGroup(ctx context.Context, id string, name, parentID *string) (*GroupView, error) {
	actor, g, err := s.manageable(ctx, id)
	if err != nil {
		return nil, err
	}
	if parentID != nil && !actor.Account.Role.IsAdmin() {
		return nil, errAdminOnly
	}
	if name != nil {
		n, err := kizuna.NormalizeGroupName(*name, "group")
		if err != nil {
			return nil, err
		}
		name = &n
	}
	if parentID != nil && len(*parentID) > 64 {
		return nil, kizuna.Errorf(kizuna.ErrNotFound, "parent_not_found", "The parent group does not exist.")
	}
	updated, err := s.store.UpdateGroup(ctx, g.TenantID, g.ID, name, parentID)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: g.TenantID, ActorID: actor.Account.ID, Action: "group.update", TargetID: g.ID, Target: updated.Name,
		Details: fmt.Sprintf("before=name:%s parent:%s after=name:%s parent:%s", g.Name, g.ParentID, updated.Name, updated.ParentID)})
	return &GroupView{Group: *updated}, nil
}

// DeleteGroup removes a group without subgroups (admins); its room and
// board stay, no longer tied to it.
func (s *GroupService) DeleteGroup(ctx context.Context, id string) error {
	a, err := admin(ctx)
	if err != nil {
		return err
	}
	g, _, err := s.visibleGroup(ctx, a, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteGroup(ctx, a.Account.TenantID, g.ID); err != nil {
		return err
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: g.TenantID, ActorID: a.Account.ID, Action: "group.delete", TargetID: g.ID, Target: g.Name})
	return nil
}

// GroupMemberView is a member of a group as the viewer sees them.
type GroupMemberView struct {
	Person
	Role kizuna.GroupRole
}

// Members lists a visible group's members, each classified for the
// viewer.
func (s *GroupService) Members(ctx context.Context, id string) ([]GroupMemberView, error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, err
	}
	g, _, err := s.visibleGroup(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	ms, err := s.store.GroupMembers(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.AccountID
	}
	people, err := s.talk().peopleByID(ctx, actor.Account, ids)
	if err != nil {
		return nil, err
	}
	out := []GroupMemberView{}
	for _, m := range ms {
		if p, ok := people[m.AccountID]; ok {
			out = append(out, GroupMemberView{Person: p, Role: m.Role})
		}
	}
	return out, nil
}

func (d *deps) talk() *TalkService { return d.talkSvc }

// AddMembers adds members to a group (its managers, admins). Anybody
// outside the tenant is refused with what to do instead (R8). The group's
// room follows. Errors: invalid "not_internal", "invalid_members";
// not_found "account_not_found".
func (s *GroupService) AddMembers(ctx context.Context, id string, refs []string, role kizuna.GroupRole) ([]GroupMemberView, error) {
	actor, g, err := s.manageable(ctx, id)
	if err != nil {
		return nil, err
	}
	if role == "" {
		role = kizuna.GroupMember
	}
	if role != kizuna.GroupMember && role != kizuna.GroupManager {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_role", "role must be member or manager.")
	}
	if len(refs) == 0 || len(refs) > 1000 {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_members", "Name between 1 and 1,000 members to add.")
	}
	accounts, err := s.talk().resolveAccounts(ctx, refs)
	if err != nil {
		return nil, err
	}
	people, err := s.people(ctx, actor.Account, accounts...)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(people))
	for _, p := range people {
		if p.Relation != kizuna.RelationInternal {
			return nil, kizuna.Errorf(kizuna.ErrInvalid, "not_internal",
				"%s is external to your tenant (%s). Groups hold internal members only: issue the person an ID in one of your domains, or send them an invite link, and add that ID instead.",
				p.Address(), strings.TrimPrefix(p.Reason, "external: "))
		}
		ids = append(ids, p.ID)
	}
	if err := s.store.AddGroupMembers(ctx, g.TenantID, g.ID, ids, role); err != nil {
		return nil, err
	}
	if g.RoomID != "" {
		if _, err := s.talk().submit(ctx, store.TalkOp{Kind: store.OpAddMembers, RoomID: g.RoomID, AccountIDs: ids}); err != nil {
			return nil, err
		}
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: g.TenantID, ActorID: actor.Account.ID, Action: "group.add_members", TargetID: g.ID, Target: g.Name,
		Details: fmt.Sprintf("members=%d role=%s", len(ids), role)})
	return s.Members(ctx, id)
}

// RemoveMember takes a member out of a group (managers, admins; anyone
// may leave); the group's room follows.
func (s *GroupService) RemoveMember(ctx context.Context, id, accountID string) error {
	actor, err := member(ctx)
	if err != nil {
		return err
	}
	var g *kizuna.Group
	if accountID == actor.Account.ID {
		if g, _, err = s.visibleGroup(ctx, actor, id); err != nil {
			return err
		}
	} else if _, g, err = s.manageable(ctx, id); err != nil {
		return err
	}
	if err := s.store.RemoveGroupMember(ctx, g.ID, accountID); err != nil {
		return err
	}
	if g.RoomID != "" {
		_, err := s.talk().submit(ctx, store.TalkOp{Kind: store.OpRemoveMember, RoomID: g.RoomID, AccountID: accountID})
		if err != nil && !errors.Is(err, kizuna.ErrNotFound) {
			return err
		}
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: g.TenantID, ActorID: actor.Account.ID, Action: "group.remove_member", TargetID: accountID, Target: g.Name})
	return nil
}

// BoardView is a board with the viewer's rights.
type BoardView struct {
	*kizuna.Board
	CanWrite  bool
	CanManage bool
}

// Boards lists the boards the viewer may read.
func (s *GroupService) Boards(ctx context.Context) ([]BoardView, error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.viewerOf(ctx, actor.Account)
	if err != nil {
		return nil, err
	}
	return s.boardsFor(ctx, v)
}

func (s *GroupService) boardsFor(ctx context.Context, v kizuna.Viewer) ([]BoardView, error) {
	all, err := s.store.TenantBoards(ctx, v.TenantID)
	if err != nil {
		return nil, err
	}
	out := []BoardView{}
	for _, b := range all {
		if r, w, m := v.BoardRights(b); r {
			out = append(out, BoardView{Board: b, CanWrite: w, CanManage: m})
		}
	}
	return out, nil
}

// board returns a board the actor may read, with the rights.
func (s *GroupService) board(ctx context.Context, id string) (*kizuna.Actor, BoardView, error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, BoardView{}, err
	}
	if len(id) > 64 {
		return nil, BoardView{}, errBoardHidden
	}
	v, err := s.viewerOf(ctx, actor.Account)
	if err != nil {
		return nil, BoardView{}, err
	}
	b, err := s.store.Board(ctx, actor.Account.TenantID, id)
	if errors.Is(err, kizuna.ErrNotFound) {
		return nil, BoardView{}, errBoardHidden
	}
	if err != nil {
		return nil, BoardView{}, err
	}
	r, w, m := v.BoardRights(b)
	if !r {
		return nil, BoardView{}, errBoardHidden
	}
	return actor, BoardView{Board: b, CanWrite: w, CanManage: m}, nil
}

var errBoardManager = kizuna.Errorf(kizuna.ErrForbidden, "board_manager_required", "Only the board's managers can do this.")

// BoardInput is a board's settings.
type BoardInput struct {
	Name            string
	GroupID         string
	AllowRestricted bool
	Rules           []kizuna.BoardRule
}

func (s *GroupService) checkRules(ctx context.Context, tenantID string, rules []kizuna.BoardRule) error {
	if err := kizuna.CheckBoardRules(rules); err != nil {
		return err
	}
	for _, r := range rules {
		switch r.Kind {
		case kizuna.PrincipalGroup:
			if _, err := s.store.Group(ctx, tenantID, r.ID); err != nil {
				return kizuna.Errorf(kizuna.ErrInvalid, "invalid_rules", "No group of your tenant has the ID %q.", truncateForLog(r.ID))
			}
		case kizuna.PrincipalMember:
			if _, err := s.store.Account(ctx, tenantID, r.ID); err != nil {
				return kizuna.Errorf(kizuna.ErrInvalid, "invalid_rules", "No member of your tenant has the ID %q.", truncateForLog(r.ID))
			}
		}
	}
	return nil
}

// CreateBoard creates a board (admins). Errors: invalid "invalid_name",
// "invalid_rules".
func (s *GroupService) CreateBoard(ctx context.Context, in BoardInput) (*BoardView, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	name, err := kizuna.NormalizeGroupName(in.Name, "board")
	if err != nil {
		return nil, err
	}
	if err := s.checkRules(ctx, a.Account.TenantID, in.Rules); err != nil {
		return nil, err
	}
	if in.GroupID != "" {
		if _, err := s.store.Group(ctx, a.Account.TenantID, in.GroupID); err != nil {
			return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_group", "No group of your tenant has that ID.")
		}
	}
	b := &kizuna.Board{ID: kizuna.NewID(), TenantID: a.Account.TenantID, Name: name, GroupID: in.GroupID, AllowRestricted: in.AllowRestricted, Rules: in.Rules}
	if b.Rules == nil {
		b.Rules = []kizuna.BoardRule{}
	}
	if err := s.store.CreateBoard(ctx, b); err != nil {
		return nil, err
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: b.TenantID, ActorID: a.Account.ID, Action: "board.create", TargetID: b.ID, Target: b.Name})
	return &BoardView{Board: b, CanWrite: true, CanManage: true}, nil
}

// Board returns a board the viewer may read; others answer not_found.
func (s *GroupService) Board(ctx context.Context, id string) (*BoardView, error) {
	_, bv, err := s.board(ctx, id)
	return &bv, err
}

// UpdateBoard replaces a board's settings and permissions (its managers).
// The change is audited with the rules before and after.
func (s *GroupService) UpdateBoard(ctx context.Context, id string, in BoardInput) (*BoardView, error) {
	actor, bv, err := s.board(ctx, id)
	if err != nil {
		return nil, err
	}
	if !bv.CanManage {
		return nil, errBoardManager
	}
	name, err := kizuna.NormalizeGroupName(in.Name, "board")
	if err != nil {
		return nil, err
	}
	if err := s.checkRules(ctx, bv.TenantID, in.Rules); err != nil {
		return nil, err
	}
	before := fmt.Sprintf("name:%s restricted:%v rules:%v", bv.Name, bv.AllowRestricted, bv.Rules)
	b := *bv.Board
	b.Name, b.AllowRestricted, b.Rules = name, in.AllowRestricted, in.Rules
	if b.Rules == nil {
		b.Rules = []kizuna.BoardRule{}
	}
	audit := &kizuna.AuditEntry{TenantID: b.TenantID, ActorID: actor.Account.ID, Action: "board.update", TargetID: b.ID, Target: b.Name,
		Details: fmt.Sprintf("before=%s after=name:%s restricted:%v rules:%v", before, b.Name, b.AllowRestricted, b.Rules)}
	if err := s.store.UpdateBoard(ctx, &b, audit); err != nil {
		return nil, err
	}
	return s.Board(ctx, id)
}

// DeleteBoard removes a board and its posts (its managers).
func (s *GroupService) DeleteBoard(ctx context.Context, id string) error {
	actor, bv, err := s.board(ctx, id)
	if err != nil {
		return err
	}
	if !bv.CanManage {
		return errBoardManager
	}
	if err := s.store.DeleteBoard(ctx, bv.TenantID, bv.ID); err != nil {
		return err
	}
	s.audit(ctx, &kizuna.AuditEntry{TenantID: bv.TenantID, ActorID: actor.Account.ID, Action: "board.delete", TargetID: bv.ID, Target: bv.Name})
	return nil
}

// Posts pages a readable board's posts, pinned first.
func (s *GroupService) Posts(ctx context.Context, boardID, cursor string, limit int) (*Page[*kizuna.Post], error) {
	actor, bv, err := s.board(ctx, boardID)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit); err != nil {
		return nil, err
	}
	posts, err := s.store.Posts(ctx, bv.ID, store.PostFilter{ViewerID: actor.Account.ID, Before: cursor, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	page := &Page[*kizuna.Post]{Items: []*kizuna.Post{}}
	n := 0
	for _, p := range posts {
		if !p.Pinned {
			if n++; n > limit {
				break
			}
		}
		page.Items = append(page.Items, p)
	}
	if n > limit {
		page.NextCursor = page.Items[len(page.Items)-1].ID
	}
	return page, nil
}

// PostInput is a post's content.
type PostInput struct {
	Title    string
	Body     string
	Pinned   bool
	MustRead bool
}

func checkPost(in PostInput) error {
	title := strings.TrimSpace(in.Title)
	if title == "" || !utf8.ValidString(in.Title) || utf8.RuneCountInString(title) > kizuna.MaxPostTitle {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_post", "A post needs a title of 1 to %d characters.", kizuna.MaxPostTitle)
	}
	if !utf8.ValidString(in.Body) || utf8.RuneCountInString(in.Body) > kizuna.MaxPostBody {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_post", "A post body holds at most %d characters.", kizuna.MaxPostBody)
	}
	return nil
}

// CreatePost posts on a board the actor may write on; only managers pin
// or mark posts as mandatory reading. Errors: forbidden
// "board_write_required", "board_manager_required"; invalid "invalid_post".
func (s *GroupService) CreatePost(ctx context.Context, boardID string, in PostInput) (*kizuna.Post, error) {
	actor, bv, err := s.board(ctx, boardID)
	if err != nil {
		return nil, err
	}
	if !bv.CanWrite {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "board_write_required", "You may read this board but not post on it.")
	}
	if (in.Pinned || in.MustRead) && !bv.CanManage {
		return nil, errBoardManager
	}
	if err := checkPost(in); err != nil {
		return nil, err
	}
	p := &kizuna.Post{ID: kizuna.NewID(), BoardID: bv.ID, AuthorID: actor.Account.ID, Title: strings.TrimSpace(in.Title), Body: in.Body, Pinned: in.Pinned, MustRead: in.MustRead}
	return p, s.store.CreatePost(ctx, p)
}

// PostDetail is a post with its comments.
type PostDetail struct {
	*kizuna.Post
	Comments []*kizuna.Comment
}

// Post returns a post of a readable board with its comments.
func (s *GroupService) Post(ctx context.Context, boardID, postID string) (*PostDetail, error) {
	actor, bv, err := s.board(ctx, boardID)
	if err != nil {
		return nil, err
	}
	p, err := s.store.Post(ctx, bv.ID, postID)
	if errors.Is(err, kizuna.ErrNotFound) {
		return nil, errPostHidden
	}
	if err != nil {
		return nil, err
	}
	readers, err := s.store.PostReaders(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	p.Readers, p.ReadByViewer = len(readers), slices.Contains(readers, actor.Account.ID)
	cs, err := s.store.Comments(ctx, p.ID)
	return &PostDetail{Post: p, Comments: cs}, err
}

// UpdatePost changes a post (its author, or the board's managers; only
// managers pin or mark mandatory reading).
func (s *GroupService) UpdatePost(ctx context.Context, boardID, postID string, in PostInput) (*kizuna.Post, error) {
	actor, bv, err := s.board(ctx, boardID)
	if err != nil {
		return nil, err
	}
	p, err := s.store.Post(ctx, bv.ID, postID)
	if errors.Is(err, kizuna.ErrNotFound) {
		return nil, errPostHidden
	}
	if err != nil {
		return nil, err
	}
	if p.AuthorID != actor.Account.ID && !bv.CanManage {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "not_author", "Only the author or the board's managers can change a post.")
	}
	if (in.Pinned != p.Pinned || in.MustRead != p.MustRead) && !bv.CanManage {
		return nil, errBoardManager
	}
	if err := checkPost(in); err != nil {
		return nil, err
	}
	p.Title, p.Body, p.Pinned, p.MustRead = strings.TrimSpace(in.Title), in.Body, in.Pinned, in.MustRead
	return p, s.store.UpdatePost(ctx, p)
}

// DeletePost deletes a post (its author or the board's managers).
func (s *GroupService) DeletePost(ctx context.Context, boardID, postID string) error {
	actor, bv, err := s.board(ctx, boardID)
	if err != nil {
		return err
	}
	p, err := s.store.Post(ctx, bv.ID, postID)
	if errors.Is(err, kizuna.ErrNotFound) {
		return errPostHidden
	}
	if err != nil {
		return err
	}
	if p.AuthorID != actor.Account.ID && !bv.CanManage {
		return kizuna.Errorf(kizuna.ErrForbidden, "not_author", "Only the author or the board's managers can delete a post.")
	}
	return s.store.DeletePost(ctx, bv.ID, p.ID)
}

// Comment comments on a post of a readable board.
func (s *GroupService) Comment(ctx context.Context, boardID, postID, body string) (*kizuna.Comment, error) {
	actor, bv, err := s.board(ctx, boardID)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.Post(ctx, bv.ID, postID); err != nil {
		return nil, errPostHidden
	}
	if strings.TrimSpace(body) == "" || !utf8.ValidString(body) || utf8.RuneCountInString(body) > kizuna.MaxCommentBody {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_comment", "A comment holds 1 to %d characters.", kizuna.MaxCommentBody)
	}
	c := &kizuna.Comment{ID: kizuna.NewID(), PostID: postID, AuthorID: actor.Account.ID, Body: body}
	return c, s.store.AddComment(ctx, c)
}

// MarkRead records that the actor read a post.
func (s *GroupService) MarkRead(ctx context.Context, boardID, postID string) error {
	actor, bv, err := s.board(ctx, boardID)
	if err != nil {
		return err
	}
	if _, err := s.store.Post(ctx, bv.ID, postID); err != nil {
		return errPostHidden
	}
	return s.store.MarkPostRead(ctx, postID, actor.Account.ID)
}

// Readers lists who read a post (its author and the board's managers).
func (s *GroupService) Readers(ctx context.Context, boardID, postID string) ([]Person, error) {
	actor, bv, err := s.board(ctx, boardID)
	if err != nil {
		return nil, err
	}
	p, err := s.store.Post(ctx, bv.ID, postID)
	if err != nil {
		return nil, errPostHidden
	}
	if p.AuthorID != actor.Account.ID && !bv.CanManage {
		return nil, kizuna.Errorf(kizuna.ErrForbidden, "not_author", "Only the author or the board's managers see who has read a post.")
	}
	ids, err := s.store.PostReaders(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	people, err := s.talk().peopleByID(ctx, actor.Account, ids)
	if err != nil {
		return nil, err
	}
	out := []Person{}
	for _, id := range ids {
		if pp, ok := people[id]; ok {
			out = append(out, pp)
		}
	}
	return out, nil
}

// SetRestricted marks or unmarks a member as restricted (admins).
func (s *GroupService) SetRestricted(ctx context.Context, memberID string, restricted bool) error {
	a, err := admin(ctx)
	if err != nil {
		return err
	}
	if memberID == a.Account.ID {
		return kizuna.Errorf(kizuna.ErrInvalid, "cannot_restrict_self", "You cannot restrict yourself.")
	}
	was, err := s.store.Restricted(ctx, []string{memberID})
	if err != nil {
		return err
	}
	audit := &kizuna.AuditEntry{TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: "member.restrict", TargetID: memberID,
		Details: fmt.Sprintf("before=restricted:%v after=restricted:%v", was[memberID], restricted)}
	return s.store.SetRestricted(ctx, a.Account.TenantID, memberID, restricted, audit)
}

// Restrictions returns what restriction means in the actor's tenant.
func (s *GroupService) Restrictions(ctx context.Context) (kizuna.Restrictions, error) {
	actor, err := member(ctx)
	if err != nil {
		return kizuna.Restrictions{}, err
	}
	return s.store.TenantRestrictions(ctx, actor.Account.TenantID)
}

// SetRestrictions changes what restriction means in the tenant (admins).
func (s *GroupService) SetRestrictions(ctx context.Context, r kizuna.Restrictions) (kizuna.Restrictions, error) {
	a, err := admin(ctx)
	if err != nil {
		return r, err
	}
	before, err := s.store.TenantRestrictions(ctx, a.Account.TenantID)
	if err != nil {
		return r, err
	}
	audit := &kizuna.AuditEntry{TenantID: a.Account.TenantID, ActorID: a.Account.ID, Action: "tenant.restrictions",
		Details: fmt.Sprintf("before=%+v after=%+v", before, r)}
	return r, s.store.SetTenantRestrictions(ctx, a.Account.TenantID, r, audit)
}

// DirectoryResult is a page of the directory.
type DirectoryResult struct {
	People []Person
	Groups []GroupView
	// Limited tells that the viewer sees only the members of their groups
	// and the people they talk with (R10).
	Limited bool
}

// Directory searches the tenant's members and groups by the prefix of a
// name or ID, case- and width-insensitively, with relation labels; a
// restricted member sees only part of it. An empty query lists from the
// start.
func (s *GroupService) Directory(ctx context.Context, q string, limit int) (*DirectoryResult, error) {
	actor, err := member(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.viewerOf(ctx, actor.Account)
	if err != nil {
		return nil, err
	}
	return s.directoryFor(ctx, actor.Account, v, q, limit)
}

func (s *GroupService) directoryFor(ctx context.Context, viewer *kizuna.Account, v kizuna.Viewer, q string, limit int) (*DirectoryResult, error) {
	var err error
	if limit, err = pageLimit(limit); err != nil {
		return nil, err
	}
	if !utf8.ValidString(q) || len(q) > 200 {
		return nil, kizuna.Errorf(kizuna.ErrInvalid, "invalid_query", "Search for up to 200 bytes of text.")
	}
	key := kizuna.SearchKey(q)
	res := &DirectoryResult{People: []Person{}, Groups: []GroupView{}, Limited: v.DirectoryLimited()}
	var accounts []*kizuna.Account
	if v.DirectoryLimited() {
		ids, err := s.visibleTo(ctx, viewer)
		if err != nil {
			return nil, err
		}
		byID, err := s.store.AccountsByIDs(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, a := range byID {
			if a.TenantID == v.TenantID && (strings.HasPrefix(kizuna.SearchKey(a.DisplayName), key) || strings.HasPrefix(a.Local, key)) {
				accounts = append(accounts, a)
			}
		}
		slices.SortFunc(accounts, func(x, y *kizuna.Account) int {
			return strings.Compare(kizuna.SearchKey(x.DisplayName), kizuna.SearchKey(y.DisplayName))
		})
		accounts = accounts[:min(limit, len(accounts))]
	} else if accounts, err = s.store.SearchDirectory(ctx, v.TenantID, key, limit); err != nil {
		return nil, err
	}
	if res.People, err = s.people(ctx, viewer, accounts...); err != nil {
		return nil, err
	}
	groups, err := s.groupsFor(ctx, v)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if strings.HasPrefix(kizuna.SearchKey(g.Name), key) && len(res.Groups) < limit {
			res.Groups = append(res.Groups, g)
		}
	}
	return res, nil
}

// visibleTo lists whom a limited viewer may find: themselves, the members
// of their groups and the people they share a room with.
func (s *GroupService) visibleTo(ctx context.Context, a *kizuna.Account) ([]string, error) {
	mates, err := s.store.GroupMates(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	partners, err := s.store.TalkPartners(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	ids := append(append([]string{a.ID}, mates...), partners...)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// ViewAs is what a member sees: the directory (its first page), the
// groups and the boards, as an admin previews it.
type ViewAs struct {
	Member     Person
	Restricted bool
	Directory  *DirectoryResult
	Boards     []BoardView
}

// ViewAs shows an admin exactly what a member of their tenant sees;
// restricted, when set, previews the member as if restricted or not,
// changing nothing.
func (s *GroupService) ViewAs(ctx context.Context, memberID string, restricted *bool) (*ViewAs, error) {
	a, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.store.Account(ctx, a.Account.TenantID, memberID)
	if err != nil {
		return nil, err
	}
	v, err := s.viewerOf(ctx, m)
	if err != nil {
		return nil, err
	}
	if restricted != nil {
		v.Restricted = *restricted
	}
	dir, err := s.directoryFor(ctx, m, v, "", MaxPageSize)
	if err != nil {
		return nil, err
	}
	boards, err := s.boardsFor(ctx, v)
	if err != nil {
		return nil, err
	}
	p, err := s.person(ctx, a.Account, m)
	if err != nil {
		return nil, err
	}
	return &ViewAs{Member: *p, Restricted: v.Restricted, Directory: dir, Boards: boards}, nil
}
