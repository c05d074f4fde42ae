package kizuna

import "fmt"

// Relation is how one account stands to a viewer (R3).
type Relation string

// Relations. "internal" and "external" are conveniences (R4): they follow
// from domains and tenants alone, never from a stored label.
const (
	RelationInternal         Relation = "internal"
	RelationExternalMember   Relation = "external_member"
	RelationExternalPersonal Relation = "external_personal"
)

// IsExternal reports whether the relation is one of the external ones.
func (r Relation) IsExternal() bool { return r != RelationInternal }

// Party is what classification needs to know about an account: its kind
// and, for members, the domain of its ID.
type Party struct {
	Kind     AccountKind
	DomainID string
}

// PartyOf returns the classification input for an account.
func PartyOf(a *Account) Party { return Party{Kind: a.Kind, DomainID: a.DomainID} }

// DomainOwner is one entry of the domain→tenant mapping.
type DomainOwner struct {
	DomainName string
	TenantID   string
	TenantName string
}

// DomainMap answers which tenant owns a domain, as of now. Implementations
// read the current mapping so that a domain move or rename reclassifies
// everyone at once.
type DomainMap interface {
	// DomainOwner returns the owner of a domain ID, or false if the domain
	// is unknown.
	DomainOwner(domainID string) (DomainOwner, bool)
}

// DomainMapFunc adapts a function to DomainMap.
type DomainMapFunc func(domainID string) (DomainOwner, bool)

// DomainOwner implements DomainMap.
func (f DomainMapFunc) DomainOwner(domainID string) (DomainOwner, bool) { return f(domainID) }

// Classification is a relation and the reason for it, in words a person
// understands ("external: domain partner.example belongs to tenant Partner
// Co"). Every API response that shows a person carries both.
type Classification struct {
	Relation Relation `json:"relation"`
	Reason   string   `json:"relation_reason"`
}

// Classify decides how target stands to viewer (R3): target is internal iff
// it is a member and its domain belongs to the viewer's tenant. A personal
// viewer has no tenant, so everyone else is external to it. It is a pure
// function of its inputs and the mapping.
func Classify(viewer, target Party, domains DomainMap) Classification {
	if target.Kind == KindPersonal {
		return Classification{RelationExternalPersonal, "external: a personal account, not a member of any tenant"}
	}
	owner, ok := domains.DomainOwner(target.DomainID)
	if !ok {
		return Classification{RelationExternalMember, "external: the account's domain no longer belongs to any tenant"}
	}
	if viewer.Kind == KindMember {
		if mine, ok := domains.DomainOwner(viewer.DomainID); ok && mine.TenantID == owner.TenantID {
			return Classification{RelationInternal, fmt.Sprintf("internal: domain %s belongs to your tenant %s", DisplayDomain(owner.DomainName), owner.TenantName)}
		}
	}
	return Classification{RelationExternalMember, fmt.Sprintf("external: domain %s belongs to tenant %s", DisplayDomain(owner.DomainName), owner.TenantName)}
}
