package kizuna

import (
	"testing"
	"time"
)

// TestMayTalkEveryCombination walks every combination of the two sides'
// kinds, tenant policies and member exceptions and compares MayTalk with
// the rule written out independently: a member side allows iff its
// exception says allow, or (no deny and) its tenant allows the other's
// kind; personal sides always allow; both must allow.
func TestMayTalkEveryCombination(t *testing.T) {
	type side struct {
		personal  bool
		personalY bool // tenant allows personal accounts
		othersY   bool // tenant allows other tenants
		exc       ExternalTalk
	}
	var sides []side
	sides = append(sides, side{personal: true})
	for _, p := range []bool{false, true} {
		for _, o := range []bool{false, true} {
			for _, e := range []ExternalTalk{ExternalTalkDefault, ExternalTalkAllow, ExternalTalkDeny} {
				sides = append(sides, side{personalY: p, othersY: o, exc: e})
			}
		}
	}
	party := func(s side, tenant string) TalkParty {
		if s.personal {
			return TalkParty{Kind: KindPersonal, Address: "someone"}
		}
		return TalkParty{Kind: KindMember, Address: "x@" + tenant + ".example", TenantID: "t-" + tenant, TenantName: tenant,
			Policy: ExternalPolicy{AllowPersonal: s.personalY, AllowOtherTenants: s.othersY, AddContacts: ContactsFree}, Exception: s.exc}
	}
	allows := func(self, other side) bool {
		if self.personal {
			return true
		}
		switch self.exc {
		case ExternalTalkAllow:
			return true
		case ExternalTalkDeny:
			return false
		}
		if other.personal {
			return self.personalY
		}
		return self.othersY
	}
	n := 0
	for _, a := range sides {
		for _, b := range sides {
			n++
			pa, pb := party(a, "Acme"), party(b, "Partner")
			want := allows(a, b) && allows(b, a)
			got := MayTalk(pa, pb)
			if got.Allowed != want {
				t.Errorf("%+v with %+v: allowed=%v, want %v (%q)", a, b, got.Allowed, want, got.Reason)
			}
			if got.Allowed != (got.Reason == "") {
				t.Errorf("%+v with %+v: allowed=%v but reason %q", a, b, got.Allowed, got.Reason)
			}
			// The rule is symmetric: who asks does not matter.
			if rev := MayTalk(pb, pa); rev.Allowed != got.Allowed {
				t.Errorf("%+v with %+v: not symmetric", a, b)
			}
			// Within one tenant the policy never applies (R9 is about
			// external talk only), whatever it and the exceptions say.
			if !a.personal && !b.personal {
				if same := MayTalk(pa, party(b, "Acme")); !same.Allowed {
					t.Errorf("%+v with %+v in one tenant: refused: %s", a, b, same.Reason)
				}
			}
		}
	}
	if n != 13*13 {
		t.Fatalf("covered %d combinations", n)
	}
}

func TestMayTalkReasons(t *testing.T) {
	acme := TalkParty{Kind: KindMember, Address: "sato@acme.example", TenantID: "t-acme", TenantName: "Acme", Policy: DefaultExternalPolicy}
	partner := TalkParty{Kind: KindMember, Address: "tanaka@partner.example", TenantID: "t-partner", TenantName: "Partner Co", Policy: DefaultExternalPolicy}
	personal := TalkParty{Kind: KindPersonal, Address: "hana"}
	closed := func(p TalkParty, personal, others bool) TalkParty {
		p.Policy.AllowPersonal, p.Policy.AllowOtherTenants = personal, others
		return p
	}
	deny := func(p TalkParty) TalkParty { p.Exception = ExternalTalkDeny; return p }
	allow := func(p TalkParty) TalkParty { p.Exception = ExternalTalkAllow; return p }
	tests := []struct {
		name string
		a, b TalkParty
		want string // "" means allowed
	}{
		{"defaults", acme, partner, ""},
		{"member and personal", acme, personal, ""},
		{"two personal accounts", personal, TalkParty{Kind: KindPersonal, Address: "ken"}, ""},
		{"partner closed to companies", acme, closed(partner, true, false), "Partner Co does not allow talk with other companies"},
		{"my own tenant closed", closed(acme, true, false), partner, "Acme does not allow talk with other companies"},
		{"closed to personal accounts", personal, closed(partner, false, true), "Partner Co does not allow talk with personal accounts"},
		{"closed to personal but open to companies", closed(acme, false, true), partner, ""},
		{"exception allow overrides the tenant's no", allow(closed(acme, false, false)), partner, ""},
		{"exception allow on one side only", allow(closed(acme, false, false)), closed(partner, true, false), "Partner Co does not allow talk with other companies"},
		{"exception deny overrides the tenant's yes", deny(acme), personal, "Acme has turned off talk outside the tenant for sato@acme.example"},
		{"deny does not reach inside the tenant", deny(acme), TalkParty{Kind: KindMember, TenantID: "t-acme", TenantName: "Acme"}, ""},
		{"personal accounts share no tenant", TalkParty{Kind: KindPersonal}, TalkParty{Kind: KindPersonal}, ""},
	}
	for _, tc := range tests {
		got := MayTalk(tc.a, tc.b)
		if got.Allowed != (tc.want == "") || got.Reason != tc.want {
			t.Errorf("%s: got %+v, want reason %q", tc.name, got, tc.want)
		}
	}
}

func TestContactModeAndExceptionValues(t *testing.T) {
	for _, m := range []ContactMode{ContactsFree, ContactsApproval, ContactsAdminsOnly} {
		if !m.Valid() {
			t.Errorf("%q not valid", m)
		}
	}
	for _, m := range []ContactMode{"", "FREE", "none"} {
		if m.Valid() {
			t.Errorf("%q valid", m)
		}
	}
	for _, e := range []ExternalTalk{"", "allow", "deny"} {
		if !e.Valid() {
			t.Errorf("%q not valid", e)
		}
	}
	if ExternalTalk("maybe").Valid() {
		t.Error("maybe is valid")
	}
}

func TestContactCounts(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		status  ContactStatus
		expires time.Time
		want    bool
	}{
		{ContactAccepted, time.Time{}, true},
		{ContactAccepted, now.Add(time.Second), true},
		{ContactAccepted, now, false}, // expiry is exclusive: at the instant it ends
		{ContactAccepted, now.Add(-time.Hour), false},
		{ContactAwaitingAcceptance, time.Time{}, false},
		{ContactAwaitingApproval, time.Time{}, false},
		{ContactDeclined, time.Time{}, false},
	} {
		c := &Contact{Status: tc.status, ExpiresAt: tc.expires}
		if got := c.Counts(now); got != tc.want {
			t.Errorf("%s expiring %v: counts=%v, want %v", tc.status, tc.expires, got, tc.want)
		}
	}
	r, g := &Account{ID: "r"}, &Account{ID: "t"}
	c := &Contact{RequesterID: "r", TargetID: "t", Requester: r, Target: g}
	if c.Other("r") != g || c.Other("t") != r {
		t.Error("Other picks the wrong side")
	}
}
