package kizuna

import "testing"

// owners is a domain→tenant mapping for tests.
type owners map[string]DomainOwner

func (o owners) DomainOwner(id string) (DomainOwner, bool) { d, ok := o[id]; return d, ok }

func member(domainID string) Party { return Party{Kind: KindMember, DomainID: domainID} }
func personalParty() Party         { return Party{Kind: KindPersonal} }

func TestClassify(t *testing.T) {
	// Acme has a main domain and a department with its own domain (R4).
	// Partner Co is another company. Joint Project is a tenant of people
	// from Acme and Partner Co, with its own domain.
	world := owners{
		"d-acme":    {DomainName: "acme.example", TenantID: "t-acme", TenantName: "Acme"},
		"d-sales":   {DomainName: "sales.acme.example", TenantID: "t-acme", TenantName: "Acme"},
		"d-partner": {DomainName: "partner.example", TenantID: "t-partner", TenantName: "Partner Co"},
		"d-project": {DomainName: "project.example", TenantID: "t-project", TenantName: "Joint Project"},
		"d-idn":     {DomainName: "xn--bcher-kva.example", TenantID: "t-books", TenantName: "Bücher GmbH"},
	}
	var (
		taroAtAcme      = member("d-acme")    // Taro's company account
		hanaAtSales     = member("d-sales")   // a colleague in the sales department
		kenAtPartner    = member("d-partner") // Ken's company account
		taroAtProject   = member("d-project") // Taro's project account
		kenAtProject    = member("d-project") // Ken's project account
		bookseller      = member("d-idn")
		personalAccount = personalParty()
		orphan          = member("d-gone") // a domain no tenant owns any more
	)
	const (
		acmeInternal    = "internal: domain acme.example belongs to your tenant Acme"
		salesInternal   = "internal: domain sales.acme.example belongs to your tenant Acme"
		partnerExternal = "external: domain partner.example belongs to tenant Partner Co"
		projectInternal = "internal: domain project.example belongs to your tenant Joint Project"
		projectExternal = "external: domain project.example belongs to tenant Joint Project"
		acmeExternal    = "external: domain acme.example belongs to tenant Acme"
		personalReason  = "external: a personal account, not a member of any tenant"
		orphanReason    = "external: the account's domain no longer belongs to any tenant"
	)
	tests := []struct {
		name         string
		viewer, whom Party
		rel          Relation
		reason       string
	}{
		{"same tenant", taroAtAcme, taroAtAcme, RelationInternal, acmeInternal},
		{"department domain of the same tenant", taroAtAcme, hanaAtSales, RelationInternal, salesInternal},
		{"department sees the main domain", hanaAtSales, taroAtAcme, RelationInternal, acmeInternal},
		{"another tenant's member", taroAtAcme, kenAtPartner, RelationExternalMember, partnerExternal},
		{"and the other way round", kenAtPartner, taroAtAcme, RelationExternalMember, acmeExternal},
		{"joint project: members from two companies are internal to each other", taroAtProject, kenAtProject, RelationInternal, projectInternal},
		{"joint project: and the other way round", kenAtProject, taroAtProject, RelationInternal, projectInternal},
		{"joint project: a member's company account is external to the project", taroAtProject, taroAtAcme, RelationExternalMember, acmeExternal},
		{"joint project: the partner's company account is external to the project", taroAtProject, kenAtPartner, RelationExternalMember, partnerExternal},
		{"joint project: a project account is external to the company", taroAtAcme, kenAtProject, RelationExternalMember, projectExternal},
		{"joint project: even one's own project account", taroAtAcme, taroAtProject, RelationExternalMember, projectExternal},
		{"a personal account", taroAtAcme, personalAccount, RelationExternalPersonal, personalReason},
		{"a personal account seen by a project member", kenAtProject, personalAccount, RelationExternalPersonal, personalReason},
		{"a personal viewer sees members as external", personalAccount, taroAtAcme, RelationExternalMember, acmeExternal},
		{"a personal viewer sees personal accounts as personal", personalAccount, personalAccount, RelationExternalPersonal, personalReason},
		{"IDN domains are shown in Unicode", taroAtAcme, bookseller, RelationExternalMember, "external: domain bücher.example belongs to tenant Bücher GmbH"},
		{"IDN domains inside the tenant", bookseller, bookseller, RelationInternal, "internal: domain bücher.example belongs to your tenant Bücher GmbH"},
		{"a target whose domain no tenant owns", taroAtAcme, orphan, RelationExternalMember, orphanReason},
		{"a viewer whose domain no tenant owns", orphan, taroAtAcme, RelationExternalMember, acmeExternal},
		{"two accounts of an unowned domain are not internal", orphan, orphan, RelationExternalMember, orphanReason},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.viewer, tc.whom, world)
			if got.Relation != tc.rel || got.Reason != tc.reason {
				t.Fatalf("Classify = %q, %q\nwant        %q, %q", got.Relation, got.Reason, tc.rel, tc.reason)
			}
			if got.Relation.IsExternal() != (tc.rel != RelationInternal) {
				t.Errorf("IsExternal() = %v for %s", got.Relation.IsExternal(), got.Relation)
			}
		})
	}
}

// TestClassifyFollowsTheMapping checks R3: classification is computed from
// the current domain→tenant mapping, so moving a domain to another tenant
// (or renaming a tenant) reclassifies everyone in it at once.
func TestClassifyFollowsTheMapping(t *testing.T) {
	world := owners{
		"d-acme":    {DomainName: "acme.example", TenantID: "t-acme", TenantName: "Acme"},
		"d-lab":     {DomainName: "lab.acme.example", TenantID: "t-acme", TenantName: "Acme"},
		"d-partner": {DomainName: "partner.example", TenantID: "t-partner", TenantName: "Partner Co"},
	}
	acmeViewer, partnerViewer, labMember := member("d-acme"), member("d-partner"), member("d-lab")

	check := func(when string, viewer Party, rel Relation, reason string) {
		t.Helper()
		got := Classify(viewer, labMember, world)
		if got.Relation != rel || got.Reason != reason {
			t.Errorf("%s: Classify = %q, %q; want %q, %q", when, got.Relation, got.Reason, rel, reason)
		}
	}
	check("before the move, for Acme", acmeViewer, RelationInternal, "internal: domain lab.acme.example belongs to your tenant Acme")
	check("before the move, for Partner Co", partnerViewer, RelationExternalMember, "external: domain lab.acme.example belongs to tenant Acme")

	// The lab is spun off to Partner Co.
	world["d-lab"] = DomainOwner{DomainName: "lab.acme.example", TenantID: "t-partner", TenantName: "Partner Co"}
	check("after the move, for Acme", acmeViewer, RelationExternalMember, "external: domain lab.acme.example belongs to tenant Partner Co")
	check("after the move, for Partner Co", partnerViewer, RelationInternal, "internal: domain lab.acme.example belongs to your tenant Partner Co")

	// Partner Co renames itself; the domain is renamed too (R12).
	world["d-lab"] = DomainOwner{DomainName: "lab.partner.example", TenantID: "t-partner", TenantName: "Partner Holdings"}
	check("after the renames, for Acme", acmeViewer, RelationExternalMember, "external: domain lab.partner.example belongs to tenant Partner Holdings")

	// The domain is deleted.
	delete(world, "d-lab")
	check("after deletion, for Partner Co", partnerViewer, RelationExternalMember, "external: the account's domain no longer belongs to any tenant")
}

func TestClassifyWithDomainMapFunc(t *testing.T) {
	calls := 0
	m := DomainMapFunc(func(id string) (DomainOwner, bool) {
		calls++
		return DomainOwner{DomainName: "acme.example", TenantID: "t-acme", TenantName: "Acme"}, id == "d-acme"
	})
	a := &Account{Kind: KindMember, DomainID: "d-acme"}
	got := Classify(PartyOf(a), PartyOf(a), m)
	if got.Relation != RelationInternal || calls == 0 {
		t.Fatalf("Classify via DomainMapFunc = %+v after %d calls", got, calls)
	}
	p := &Account{Kind: KindPersonal, Local: "taro"}
	if PartyOf(p) != (Party{Kind: KindPersonal}) {
		t.Fatalf("PartyOf(personal) = %+v", PartyOf(p))
	}
}
