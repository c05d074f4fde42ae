package store

import (
	"context"

	"github.com/kizuna-chat/kizuna"
)

// PostFilter pages a board's posts: pinned first, then newest first.
type PostFilter struct {
	ViewerID string // marks ReadByViewer
	Before   string // posts with a lower ID (not pinned ones) after the first page
	Limit    int
}

// Groups stores groups, boards, posts, restricted members and the
// directory's search keys (R10).
type Groups interface {
	// CreateGroup stores a group with its first manager. Errors:
	// not_found "parent_not_found".
	CreateGroup(ctx context.Context, g *kizuna.Group, managerID string) error
	// Group returns a group of a tenant. Errors: not_found.
	Group(ctx context.Context, tenantID, id string) (*kizuna.Group, error)
	// TenantGroups lists a tenant's groups by name, with member counts.
	TenantGroups(ctx context.Context, tenantID string) ([]kizuna.Group, error)
	// GroupsOf returns the IDs of the groups an account belongs to.
	GroupsOf(ctx context.Context, accountID string) ([]string, error)
	// UpdateGroup renames a group and/or moves it under another parent
	// ("" for top level). Errors: not_found; conflict "cyclic_group".
	UpdateGroup(ctx context.Context, tenantID, id string, name, parentID *string) (*kizuna.Group, error)
	// GroupOfRoom returns the group whose room roomID is, or "".
	GroupOfRoom(ctx context.Context, roomID string) (string, error)
	// SetGroupRoom records the group's room.
	SetGroupRoom(ctx context.Context, tenantID, id, roomID string) error
	// DeleteGroup removes a group without subgroups, its memberships and
	// rules naming it. Errors: not_found; conflict "group_has_subgroups".
	DeleteGroup(ctx context.Context, tenantID, id string) error
	// GroupMembers lists a group's members.
	GroupMembers(ctx context.Context, groupID string) ([]kizuna.GroupMembership, error)
	// AddGroupMembers adds accounts with a role (an existing member takes
	// the role); each must be a live member of the tenant. Errors:
	// invalid "not_internal" naming the first that is not.
	AddGroupMembers(ctx context.Context, tenantID, groupID string, accountIDs []string, role kizuna.GroupRole) error
	// RemoveGroupMember removes one. Errors: not_found.
	RemoveGroupMember(ctx context.Context, groupID, accountID string) error

	// CreateBoard stores a board with its rules.
	CreateBoard(ctx context.Context, b *kizuna.Board) error
	// Board returns a board of a tenant with its rules. Errors: not_found.
	Board(ctx context.Context, tenantID, id string) (*kizuna.Board, error)
	// TenantBoards lists a tenant's boards with their rules.
	TenantBoards(ctx context.Context, tenantID string) ([]*kizuna.Board, error)
	// UpdateBoard replaces a board's name, restricted flag and rules.
	UpdateBoard(ctx context.Context, b *kizuna.Board, audit *kizuna.AuditEntry) error
	// DeleteBoard removes a board with its posts. Errors: not_found.
	DeleteBoard(ctx context.Context, tenantID, id string) error
	// CreatePost stores a post.
	CreatePost(ctx context.Context, p *kizuna.Post) error
	// Post returns a live post of a board. Errors: not_found.
	Post(ctx context.Context, boardID, id string) (*kizuna.Post, error)
	// Posts pages a board's live posts.
	Posts(ctx context.Context, boardID string, f PostFilter) ([]*kizuna.Post, error)
	// UpdatePost replaces a post's title, body, pinned and must-read.
	UpdatePost(ctx context.Context, p *kizuna.Post) error
	// DeletePost deletes a post (its comments and read marks stay until
	// the board goes). Errors: not_found.
	DeletePost(ctx context.Context, boardID, id string) error
	// AddComment stores a comment.
	AddComment(ctx context.Context, c *kizuna.Comment) error
	// Comments lists a post's comments, oldest first.
	Comments(ctx context.Context, postID string) ([]*kizuna.Comment, error)
	// MarkPostRead records that an account read a post (once).
	MarkPostRead(ctx context.Context, postID, accountID string) error
	// PostReaders lists who read a post, by account ID.
	PostReaders(ctx context.Context, postID string) ([]string, error)

	// Restricted returns which of the accounts are restricted.
	Restricted(ctx context.Context, accountIDs []string) (map[string]bool, error)
	// SetRestricted marks or unmarks a member of a tenant, with the audit
	// entry. Errors: not_found.
	SetRestricted(ctx context.Context, tenantID, accountID string, restricted bool, audit *kizuna.AuditEntry) error
	// TenantRestrictions returns what restriction means in a tenant
	// (kizuna.DefaultRestrictions until set).
	TenantRestrictions(ctx context.Context, tenantID string) (kizuna.Restrictions, error)
	// SetTenantRestrictions replaces them, with the audit entry.
	SetTenantRestrictions(ctx context.Context, tenantID string, r kizuna.Restrictions, audit *kizuna.AuditEntry) error

	// SearchDirectory finds up to limit of a tenant's live members whose
	// folded display name or ID (local part) starts with key (see
	// kizuna.SearchKey), ordered by the matching key.
	SearchDirectory(ctx context.Context, tenantID, key string, limit int) ([]*kizuna.Account, error)
	// TalkPartners returns the accounts that share a room with accountID.
	TalkPartners(ctx context.Context, accountID string) ([]string, error)
	// GroupMates returns the accounts that share a group with accountID.
	GroupMates(ctx context.Context, accountID string) ([]string, error)
}
