package kizuna

import "testing"

func TestBoardRights(t *testing.T) {
	board := func(allow bool, rules ...BoardRule) *Board {
		return &Board{TenantID: "t1", AllowRestricted: allow, Rules: rules}
	}
	tenantRead := BoardRule{Right: RightRead, Kind: PrincipalTenant}
	groupWrite := BoardRule{Right: RightWrite, Kind: PrincipalGroup, ID: "g1"}
	meManage := BoardRule{Right: RightManage, Kind: PrincipalMember, ID: "me"}
	member := Viewer{AccountID: "me", TenantID: "t1", Groups: map[string]bool{"g1": true}, Restrictions: DefaultRestrictions}
	restricted := member
	restricted.Restricted = true
	admin := Viewer{AccountID: "boss", TenantID: "t1", Admin: true}
	outsider := Viewer{AccountID: "x", TenantID: "t2", Admin: true, Groups: map[string]bool{"g1": true}}
	personal := Viewer{AccountID: "p"}
	lenient := restricted
	lenient.Restrictions.HideBoards = false

	for _, tc := range []struct {
		name                string
		v                   Viewer
		b                   *Board
		read, write, manage bool
	}{
		{"member, tenant-wide board", member, board(false, tenantRead), true, false, false},
		{"member, group writes", member, board(false, tenantRead, groupWrite), true, true, false},
		{"member named manager", member, board(false, meManage), true, true, true},
		{"member, board of another group", member, board(false, BoardRule{Right: RightRead, Kind: PrincipalGroup, ID: "g2"}), false, false, false},
		{"member, no rules", member, board(false), false, false, false},
		{"restricted, tenant-wide board", restricted, board(false, tenantRead), false, false, false},
		{"restricted, group board", restricted, board(false, groupWrite), false, false, false},
		{"restricted, named", restricted, board(false, meManage), true, true, true},
		{"restricted, board open to restricted", restricted, board(true, tenantRead, groupWrite), true, true, false},
		{"restricted where boards are not hidden", lenient, board(false, tenantRead), true, false, false},
		{"admin, any board of the tenant", admin, board(false), true, true, true},
		{"admin of another tenant", outsider, board(true, tenantRead, groupWrite), false, false, false},
		{"personal account", personal, board(true, tenantRead), false, false, false},
	} {
		r, w, m := tc.v.BoardRights(tc.b)
		if r != tc.read || w != tc.write || m != tc.manage {
			t.Errorf("%s: read %v write %v manage %v, want %v %v %v", tc.name, r, w, m, tc.read, tc.write, tc.manage)
		}
	}
}

func TestSearchKeyFoldsWidthAndCase(t *testing.T) {
	for in, want := range map[string]string{
		"ＳＡＴＯ":     "sato",
		"Sato":     "sato",
		"ｻﾄｳ":      "サトウ",
		" サトウ 太郎 ": "サトウ 太郎",
		"ﾀﾞｲｽｹ":    "ダイスケ",
	} {
		if got := SearchKey(in); got != want {
			t.Errorf("SearchKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckBoardRules(t *testing.T) {
	for _, bad := range [][]BoardRule{
		{{Right: "own", Kind: PrincipalTenant}},
		{{Right: RightRead, Kind: "everyone"}},
		{{Right: RightRead, Kind: PrincipalGroup}},
		{{Right: RightRead, Kind: PrincipalTenant, ID: "x"}},
	} {
		if err := CheckBoardRules(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := CheckBoardRules([]BoardRule{{Right: RightRead, Kind: PrincipalTenant}, {Right: RightManage, Kind: PrincipalMember, ID: "m"}}); err != nil {
		t.Error(err)
	}
}
