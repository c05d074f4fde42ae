package kizuna

import (
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Group is a set of a tenant's internal members (R10: "社内グループ"),
// optionally placed under a parent group to form the organisation tree,
// with an optional group room whose membership follows the group and an
// optional board.
type Group struct {
	ID          string
	TenantID    string
	Name        string
	ParentID    string // "" for a top-level group
	RoomID      string // "" when the group has no room
	CreatedAt   time.Time
	MemberCount int
}

// GroupRole is what a member may do in a group.
type GroupRole string

// Group roles.
const (
	GroupManager GroupRole = "manager" // renames the group, adds and removes members
	GroupMember  GroupRole = "member"
)

// GroupMembership is one member of a group.
type GroupMembership struct {
	GroupID   string
	AccountID string
	Role      GroupRole
}

// BoardRight is one of the rights a board grants.
type BoardRight string

// Board rights; each implies the ones before it.
const (
	RightRead   BoardRight = "read"
	RightWrite  BoardRight = "write"
	RightManage BoardRight = "manage"
)

// PrincipalKind says whom a board rule names.
type PrincipalKind string

// Principals of board rules.
const (
	PrincipalTenant PrincipalKind = "tenant" // every member of the tenant
	PrincipalGroup  PrincipalKind = "group"  // the members of a group
	PrincipalMember PrincipalKind = "member" // one member
)

// BoardRule grants a right to a principal.
type BoardRule struct {
	Right BoardRight    `json:"right"`
	Kind  PrincipalKind `json:"kind"`
	ID    string        `json:"id,omitempty"` // group or account ID; empty for the tenant
}

// Board is a tenant's notice board. Who reads, writes and manages it is
// given by its rules; AllowRestricted opens it to restricted members
// through its group and tenant-wide rules as well.
type Board struct {
	ID              string
	TenantID        string
	Name            string
	GroupID         string // the group whose board it is, or ""
	AllowRestricted bool
	Rules           []BoardRule
	CreatedAt       time.Time
}

// Post is a board post. A mandatory-read post records who has read it.
type Post struct {
	ID        string
	BoardID   string
	AuthorID  string
	Title     string
	Body      string
	Pinned    bool
	MustRead  bool
	CreatedAt time.Time
	UpdatedAt time.Time
	Comments  int
	Readers   int
	// ReadByViewer tells whether the account reading the list has marked
	// the post read.
	ReadByViewer bool
}

// Comment is a comment on a post.
type Comment struct {
	ID        string
	PostID    string
	AuthorID  string
	Body      string
	CreatedAt time.Time
}

// Restrictions say what a restricted member may not do (R10); a tenant
// setting whose default restricts all of it.
type Restrictions struct {
	// HideBoards: boards are visible only where opened to the member.
	HideBoards bool `json:"hide_boards"`
	// LimitDirectory: the directory shows only the members of the
	// member's groups and the people they talk with.
	LimitDirectory bool `json:"limit_directory"`
	// NoInviteLinks: the member may not create invite links.
	NoInviteLinks bool `json:"no_invite_links"`
	// NoExternalContacts: the member may not add external contacts.
	NoExternalContacts bool `json:"no_external_contacts"`
}

// DefaultRestrictions restrict everything R10 lists.
var DefaultRestrictions = Restrictions{HideBoards: true, LimitDirectory: true, NoInviteLinks: true, NoExternalContacts: true}

// Viewer is who looks at boards and the directory, with what decides what
// they see.
type Viewer struct {
	AccountID  string
	TenantID   string
	Admin      bool
	Restricted bool
	// Groups are the groups the viewer belongs to.
	Groups map[string]bool
	// Restrictions are the viewer's tenant's settings.
	Restrictions Restrictions
}

// hidden reports whether restrictions apply to this viewer's boards.
func (v Viewer) boardsLimited() bool { return v.Restricted && v.Restrictions.HideBoards && !v.Admin }

// DirectoryLimited reports whether the viewer sees only part of the
// directory (R10).
func (v Viewer) DirectoryLimited() bool {
	return v.Restricted && v.Restrictions.LimitDirectory && !v.Admin
}

// BoardRights returns what the viewer may do on a board: read, write,
// manage (each implying the previous). Admins manage every board of their
// tenant; another tenant's board grants nothing. A restricted member
// (when the tenant hides boards) gets rights only from rules naming them,
// or from group and tenant-wide rules of boards that allow restricted
// members.
func (v Viewer) BoardRights(b *Board) (read, write, manage bool) {
	if v.TenantID == "" || b.TenantID != v.TenantID {
		return false, false, false
	}
	if v.Admin {
		return true, true, true
	}
	best := 0
	for _, r := range b.Rules {
		match := false
		switch r.Kind {
		case PrincipalMember:
			match = r.ID == v.AccountID
		case PrincipalGroup:
			match = v.Groups[r.ID] && (!v.boardsLimited() || b.AllowRestricted)
		case PrincipalTenant:
			match = !v.boardsLimited() || b.AllowRestricted
		}
		if match {
			best = max(best, rightLevel(r.Right))
		}
	}
	return best >= 1, best >= 2, best >= 3
}

func rightLevel(r BoardRight) int {
	switch r {
	case RightRead:
		return 1
	case RightWrite:
		return 2
	case RightManage:
		return 3
	}
	return 0
}

// CheckBoardRules validates a board's rules (the principals' existence is
// the service's to check).
func CheckBoardRules(rules []BoardRule) error {
	if len(rules) > 200 {
		return Errorf(ErrInvalid, "invalid_rules", "A board has at most 200 rules.")
	}
	for _, r := range rules {
		if rightLevel(r.Right) == 0 {
			return Errorf(ErrInvalid, "invalid_rules", "right must be read, write or manage.")
		}
		switch r.Kind {
		case PrincipalTenant:
			if r.ID != "" {
				return Errorf(ErrInvalid, "invalid_rules", "A tenant rule names no ID.")
			}
		case PrincipalGroup, PrincipalMember:
			if r.ID == "" {
				return Errorf(ErrInvalid, "invalid_rules", "A %s rule needs an id.", r.Kind)
			}
		default:
			return Errorf(ErrInvalid, "invalid_rules", "kind must be tenant, group or member.")
		}
	}
	return nil
}

// SearchKey folds text for prefix search: Unicode compatibility
// normalization (full-width "ＴＡＲＯ" and half-width "ﾀﾛｳ" become
// "taro" and "タロウ") and lower case, so that people find each other
// however they typed the name.
func SearchKey(s string) string {
	return strings.ToLower(norm.NFKC.String(strings.TrimSpace(s)))
}

// NormalizeGroupName validates a group or board name.
func NormalizeGroupName(name, what string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 100 {
		return "", Errorf(ErrInvalid, "invalid_name", "A %s needs a name of 1 to 100 characters.", what)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", Errorf(ErrInvalid, "invalid_name", "A %s name may not hold control characters.", what)
		}
	}
	return name, nil
}

// Limits of boards.
const (
	MaxPostTitle   = 200
	MaxPostBody    = 20000
	MaxCommentBody = 5000
)
