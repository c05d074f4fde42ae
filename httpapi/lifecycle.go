package httpapi

import (
	"maps"
	"net/http"
	"time"

	"github.com/kizuna-chat/kizuna"
)

// lifecycleRoutes are the routes of tenant cancellation and restore.
func (s *Server) lifecycleRoutes() []Route {
	return []Route{
		{"GET", "/api/v1/tenant/cancellation-preview", Session, s.tenantCancellationPreview},
		{"DELETE", "/api/v1/tenant", Session, s.cancelTenant},
		// Public: nobody of a cancelled tenant can sign in, so the
		// restore code itself is the credential.
		{"POST", "/api/v1/tenant-restores", Public, s.restoreTenant},
	}
}

func (s *Server) tenantCancellationPreview(w http.ResponseWriter, r *http.Request) error {
	imp, err := s.svc.Tenants.CancellationPreview(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, imp)
	return nil
}

type cancelTenantRequest struct {
	// Confirm must be the tenant's exact name.
	Confirm string `json:"confirm"`
}

// cancelledTenantJSON answers a cancellation; restore_code is shown this
// once.
type cancelledTenantJSON struct {
	Tenant      *kizuna.Tenant       `json:"tenant"`
	RestoreCode string               `json:"restore_code"`
	PurgeAfter  time.Time            `json:"purge_after"`
	Impact      *kizuna.TenantImpact `json:"impact"`
}

func (s *Server) cancelTenant(w http.ResponseWriter, r *http.Request) error {
	var req cancelTenantRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.svc.Tenants.Cancel(r.Context(), req.Confirm)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cancelledTenantJSON{Tenant: c.Tenant, RestoreCode: c.RestoreCode, PurgeAfter: c.Tenant.PurgeAfter, Impact: c.Impact})
	return nil
}

type restoreTenantRequest struct {
	Code string `json:"code"`
}

func (s *Server) restoreTenant(w http.ResponseWriter, r *http.Request) error {
	var req restoreTenantRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	t, err := s.svc.Tenants.RestoreWithCode(r.Context(), req.Code)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func init() {
	maps.Copy(operations, map[string]operation{
		"GET /api/v1/tenant/cancellation-preview": {summary: "What cancelling the tenant would change (owners): members, domains, rooms, invite links, pending mail and the purge date.",
			description: "Nothing changes. rooms counts the rooms the tenant's members are in, shared_rooms those that also hold people outside it: the members' messages stay there after the purge, under their sender IDs.",
			response:    kizuna.TenantImpact{}, status: 200, errors: []string{"owner_required"}},
		"DELETE /api/v1/tenant": {summary: "Cancel the tenant (owners); restorable with the returned code until purge_after.",
			description: "confirm must be the tenant's exact name. Every member is signed out at once and cannot sign in; the tenant's domains belong to nobody (others see its members as external) but their names stay reserved. Pending mail is not sent and pending domain transfers are withdrawn. restore_code is shown this once. After purge_after (the server's retention, 30 days by default) everything of the tenant is deleted and its domain names are released.",
			request:     cancelTenantRequest{}, response: cancelledTenantJSON{}, status: 200, errors: []string{"owner_required", "confirmation_required"}},
		"POST /api/v1/tenant-restores": {summary: "Restore a cancelled tenant with the restore code shown at cancellation (no session: its members cannot sign in).",
			description: "The code works once, until the purge date. Members sign in again as before; pending mail marked failed at cancellation can be retried.",
			request:     restoreTenantRequest{}, response: kizuna.Tenant{}, status: 200, errors: []string{"invalid_code", "not_restorable"}},
	})
}
