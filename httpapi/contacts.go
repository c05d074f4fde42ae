package httpapi

import (
	"maps"
	"net/http"
	"time"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/service"
)

// contactRoutes are the routes of external contacts and the external-talk
// policy.
func (s *Server) contactRoutes() []Route {
	return []Route{
		{"GET", "/api/v1/contacts", Session, s.listContacts},
		{"POST", "/api/v1/contacts", Session, s.requestContact},
		{"POST", "/api/v1/contacts/{id}/accept", Session, s.acceptContact},
		{"POST", "/api/v1/contacts/{id}/decline", Session, s.declineContact},
		{"DELETE", "/api/v1/contacts/{id}", Session, s.deleteContact},
		{"POST", "/api/v1/me/contact-code", Session, s.createContactCode},
		{"GET", "/api/v1/contact-approvals", Session, s.listContactApprovals},
		{"POST", "/api/v1/contact-approvals/{id}/approve", Session, s.approveContact},
		{"POST", "/api/v1/contact-approvals/{id}/reject", Session, s.rejectContact},
		{"GET", "/api/v1/tenant/external-policy", Session, s.getExternalPolicy},
		{"PUT", "/api/v1/tenant/external-policy", Session, s.putExternalPolicy},
		{"PUT", "/api/v1/members/{id}/external-talk", Session, s.putExternalTalk},
	}
}

// contactJSON is a contact as one of its parties sees it.
type contactJSON struct {
	ID        string     `json:"id"`
	Person    personJSON `json:"person"`
	Status    string     `json:"status"`
	Direction string     `json:"direction"`
	// ApprovalStage and ApproverTenant say whose admins must approve
	// while the status is awaiting_approval.
	ApprovalStage  string     `json:"approval_stage,omitempty"`
	ApproverTenant string     `json:"approver_tenant,omitempty"`
	DeclinedBy     string     `json:"declined_by,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
	Expired        bool       `json:"expired"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func toContact(v service.ContactView) contactJSON {
	return contactJSON{ID: v.ID, Person: toPerson(v.Person), Status: string(v.Status), Direction: v.Direction,
		ApprovalStage: string(v.Stage), ApproverTenant: v.ApproverTenantName, DeclinedBy: v.DeclinedBy,
		ExpiresAt: optTime(v.ExpiresAt), Expired: v.Expired, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

// approvalJSON is a contact in an admin's approval queue.
type approvalJSON struct {
	ID            string     `json:"id"`
	Requester     personJSON `json:"requester"`
	Target        personJSON `json:"target"`
	Status        string     `json:"status"`
	ApprovalStage string     `json:"approval_stage,omitempty"`
	ExpiresAt     *time.Time `json:"expires_at,omitempty"`
	Expired       bool       `json:"expired"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

func toApproval(v service.ApprovalView) approvalJSON {
	return approvalJSON{ID: v.ID, Requester: toPerson(v.Requester), Target: toPerson(v.Target), Status: string(v.Status),
		ApprovalStage: string(v.Stage), ExpiresAt: optTime(v.ExpiresAt), Expired: v.Expired, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	page, err := s.svc.Contacts.List(r.Context(), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := make([]contactJSON, len(page.Items))
	for i, v := range page.Items {
		out[i] = toContact(v)
	}
	writeJSON(w, http.StatusOK, listJSON[contactJSON]{Items: out, NextCursor: page.NextCursor})
	return nil
}

type contactRequest struct {
	ID        string     `json:"id,omitempty"`
	Code      string     `json:"code,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (s *Server) requestContact(w http.ResponseWriter, r *http.Request) error {
	var req contactRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	in := service.ContactRequest{ID: req.ID, Code: req.Code}
	if req.ExpiresAt != nil {
		in.ExpiresAt = *req.ExpiresAt
	}
	v, created, err := s.svc.Contacts.Request(r.Context(), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, toContact(*v))
	return nil
}

func (s *Server) acceptContact(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Contacts.Accept(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toContact(*v))
	return nil
}

func (s *Server) declineContact(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Contacts.Decline(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toContact(*v))
	return nil
}

func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Contacts.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type contactCodeJSON struct {
	Code      string `json:"code"`
	QRPayload string `json:"qr_payload"`
}

func (s *Server) createContactCode(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.Contacts.CreateCode(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, contactCodeJSON{Code: c.Code, QRPayload: c.QRPayload})
	return nil
}

func (s *Server) listContactApprovals(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	page, err := s.svc.Contacts.Approvals(r.Context(), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := make([]approvalJSON, len(page.Items))
	for i, v := range page.Items {
		out[i] = toApproval(v)
	}
	writeJSON(w, http.StatusOK, listJSON[approvalJSON]{Items: out, NextCursor: page.NextCursor})
	return nil
}

type approveRequest struct {
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (s *Server) approveContact(w http.ResponseWriter, r *http.Request) error {
	var req approveRequest
	// The body is optional: an empty POST approves without an expiry.
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	v, err := s.svc.Contacts.Approve(r.Context(), r.PathValue("id"), req.ExpiresAt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toApproval(*v))
	return nil
}

func (s *Server) rejectContact(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Contacts.Reject(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toApproval(*v))
	return nil
}

func (s *Server) getExternalPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Contacts.Policy(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// externalPolicyRequest replaces the whole policy: every field is
// required, so that a client cannot open a door by leaving a field out.
type externalPolicyRequest struct {
	AllowPersonal     *bool   `json:"allow_personal"`
	AllowOtherTenants *bool   `json:"allow_other_tenants"`
	AddContacts       *string `json:"add_contacts"`
}

func (s *Server) putExternalPolicy(w http.ResponseWriter, r *http.Request) error {
	var req externalPolicyRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.AllowPersonal == nil || req.AllowOtherTenants == nil || req.AddContacts == nil {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_policy", "Send the whole policy: allow_personal, allow_other_tenants and add_contacts.")
	}
	p, err := s.svc.Contacts.SetPolicy(r.Context(), kizuna.ExternalPolicy{AllowPersonal: *req.AllowPersonal,
		AllowOtherTenants: *req.AllowOtherTenants, AddContacts: kizuna.ContactMode(*req.AddContacts)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

type externalTalkRequest struct {
	Mode *string `json:"mode"`
}

type externalTalkJSON struct {
	Member personJSON `json:"member"`
	Mode   string     `json:"mode"`
}

func (s *Server) putExternalTalk(w http.ResponseWriter, r *http.Request) error {
	var req externalTalkRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Mode == nil {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_external_talk", `Send mode: "" (follow the tenant), "allow" or "deny".`)
	}
	p, err := s.svc.Contacts.SetExternalTalk(r.Context(), r.PathValue("id"), kizuna.ExternalTalk(*req.Mode))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, externalTalkJSON{Member: toPerson(*p), Mode: string(p.ExternalTalk)})
	return nil
}

// The contact routes document themselves here, next to their handlers,
// and join the one operations table at start-up.
func init() { maps.Copy(operations, contactOperations) }

var contactOperations = map[string]operation{
	"GET /api/v1/contacts": {summary: "A page of your external contacts and contact requests, oldest first.",
		description: "Each shows the other person with relation and relation_reason, the status (awaiting_approval, awaiting_acceptance, accepted, declined), the direction (outgoing: you asked; incoming: you were asked), and expires_at. An expired contact no longer lets you talk. Follow next_cursor for the next page.",
		query:       []string{"cursor", "limit"}, response: listJSON[contactJSON]{}, status: 200, errors: []string{"invalid_query", "invalid_limit"}},
	"POST /api/v1/contacts": {summary: "Ask for an external contact, by exact ID (name@domain or a personal handle) or by contact code.",
		description: "201 with a new request; 200 with the existing contact when the pair already has one, or when the other person had asked you (that accepts theirs). When your tenant requires approval, the request first waits for your admins (awaiting_approval). Both tenants' external-talk policies must allow the two of you to talk. expires_at, optional, ends the contact.",
		request:     contactRequest{}, response: contactJSON{}, status: 201,
		errors: []string{"invalid_contact_request", "invalid_id", "invalid_local_part", "invalid_domain", "invalid_handle", "invalid_contact_code", "invalid_expiry", "not_external", "contact_adding_restricted", "external_talk_forbidden", "not_found"}},
	"POST /api/v1/contacts/{id}/accept": {summary: "Accept a contact you were asked for.",
		description: "When your tenant requires approval it then waits for your admins (awaiting_approval); otherwise it is accepted.",
		response:    contactJSON{}, status: 200, errors: []string{"not_contact_target", "contact_not_pending", "contact_expired", "contact_changed", "contact_adding_restricted", "external_talk_forbidden", "not_found"}},
	"POST /api/v1/contacts/{id}/decline": {summary: "Decline a contact you were asked for.", response: contactJSON{}, status: 200,
		errors: []string{"not_contact_target", "contact_not_pending", "contact_changed", "not_found"}},
	"DELETE /api/v1/contacts/{id}": {summary: "Remove a contact or request, in any state, for both people.", status: 204, errors: []string{"not_found"}},
	"POST /api/v1/me/contact-code": {summary: "Make a new contact code for your account; the previous one stops working.",
		description: "The code and the QR payload (kizuna-contact:<code>) are shown once; only a hash is kept. Whoever holds the code can ask you for a contact.",
		response:    contactCodeJSON{}, status: 201},
	"GET /api/v1/contact-approvals": {summary: "Contacts awaiting approval by your tenant (admins), oldest first.",
		description: "approval_stage request: one of your members asked; acceptance: one of your members accepted someone's request.",
		query:       []string{"cursor", "limit"}, response: listJSON[approvalJSON]{}, status: 200, errors: []string{"admin_required", "invalid_query", "invalid_limit"}},
	"POST /api/v1/contact-approvals/{id}/approve": {summary: "Approve a contact awaiting your tenant (admins), optionally until expires_at.",
		description: "A request goes on to the person asked; an acceptance makes the contact accepted. The body is optional. Audited.",
		request:     approveRequest{}, response: approvalJSON{}, status: 200, errors: []string{"admin_required", "invalid_expiry", "contact_expired", "contact_changed", "external_talk_forbidden", "not_found"}},
	"POST /api/v1/contact-approvals/{id}/reject": {summary: "Reject a contact awaiting your tenant (admins): it becomes declined. Audited.",
		response: approvalJSON{}, status: 200, errors: []string{"admin_required", "contact_changed", "not_found"}},
	"GET /api/v1/tenant/external-policy": {summary: "Your tenant's external-talk policy.", response: kizuna.ExternalPolicy{}, status: 200, errors: []string{"member_required"}},
	"PUT /api/v1/tenant/external-policy": {summary: "Replace your tenant's external-talk policy (admins).",
		description: "allow_personal: talk with personal accounts; allow_other_tenants: talk with other tenants' members; add_contacts: free, approval or admins_only. Both sides' policies must allow a conversation; it applies to the next message sent. Audited with the values before and after.",
		request:     externalPolicyRequest{}, response: kizuna.ExternalPolicy{}, status: 200, errors: []string{"admin_required", "invalid_policy", "policy_changed"}},
	"PUT /api/v1/members/{id}/external-talk": {summary: "Set a member's exception to the external-talk policy (admins).",
		description: `mode "" follows the tenant, "allow" lets the member talk outside where the tenant says no, "deny" stops it where the tenant says yes. Audited.`,
		request:     externalTalkRequest{}, response: externalTalkJSON{}, status: 200, errors: []string{"admin_required", "invalid_external_talk", "policy_changed", "not_found"}},
}

func init() {
	enums["Contact.status"] = contactStatuses
	enums["Contact.direction"] = []string{service.Outgoing, service.Incoming}
	enums["Contact.approval_stage"] = stages
	enums["Approval.status"] = contactStatuses
	enums["Approval.approval_stage"] = stages
	enums["ExternalPolicy.add_contacts"] = contactModes
	enums["ExternalPolicyRequest.add_contacts"] = contactModes
	enums["ExternalTalkRequest.mode"] = []string{"", "allow", "deny"}
	enums["ExternalTalk.mode"] = []string{"", "allow", "deny"}
}

var (
	contactStatuses = []string{string(kizuna.ContactAwaitingApproval), string(kizuna.ContactAwaitingAcceptance), string(kizuna.ContactAccepted), string(kizuna.ContactDeclined)}
	stages          = []string{string(kizuna.StageRequest), string(kizuna.StageAcceptance)}
	contactModes    = []string{string(kizuna.ContactsFree), string(kizuna.ContactsApproval), string(kizuna.ContactsAdminsOnly)}
)
