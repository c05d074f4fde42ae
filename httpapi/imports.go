package httpapi

import (
	"bytes"
	"net/http"

	"github.com/kizuna-chat/kizuna"
	"github.com/kizuna-chat/kizuna/service"
)

func (s *Server) startImport(w http.ResponseWriter, r *http.Request) error {
	data, err := readAll(w, r, service.MaxImportBytes)
	if err != nil {
		return err
	}
	dryRun := r.URL.Query().Get("dry_run")
	if dryRun != "" && dryRun != "true" && dryRun != "false" {
		return kizuna.Errorf(kizuna.ErrInvalid, "invalid_query", "dry_run must be true or false.")
	}
	job, err := s.svc.Imports.StartImport(r.Context(), data, dryRun == "true")
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/member-imports/"+job.ID)
	writeJSON(w, http.StatusAccepted, job)
	return nil
}

func (s *Server) importJob(w http.ResponseWriter, r *http.Request) error {
	job, err := s.svc.Imports.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

func (s *Server) exportMembers(w http.ResponseWriter, r *http.Request) error {
	// The whole export is built before the first byte, so a refusal is
	// still answered as JSON.
	var buf bytes.Buffer
	if err := s.svc.Imports.Export(r.Context(), &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="kizuna-members.csv"`)
	buf.WriteTo(w)
	return nil
}
