package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/mapsync/mapsync/plans"
)

// TemplateSummary is a template as listed.
type TemplateSummary struct {
	// Key is the template's key.
	Key string `json:"key"`
	// Version is its latest version.
	Version int `json:"version"`
	// Name is its display name.
	Name string `json:"name"`
	// Description says what kind of deal it is for.
	Description string `json:"description,omitempty"`
	// Selection is its selection rule, if any.
	Selection *plans.Selection `json:"selection,omitempty"`
	// Actions counts its actions.
	Actions int `json:"actions"`
}

// TemplateList is every template, latest versions, by key.
type TemplateList struct {
	// Templates are the templates.
	Templates []TemplateSummary `json:"templates"`
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request, _ plans.Actor) error {
	ts, err := s.store.Templates(r.Context())
	if err != nil {
		return err
	}
	out := TemplateList{Templates: make([]TemplateSummary, 0, len(ts))}
	for _, t := range ts {
		out.Templates = append(out.Templates, TemplateSummary{
			Key: t.Key, Version: t.Version, Name: t.Name, Description: t.Description,
			Selection: t.Selection, Actions: t.ActionCount(),
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request, _ plans.Actor) error {
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return errBadRequest("version", "version: want a positive integer, got %q", v)
		}
		version = n
	}
	key := r.PathValue("key")
	t, err := s.store.Template(r.Context(), key, version)
	if errors.Is(err, plans.ErrNotFound) && version > 0 {
		// The key or only the version?
		if latest, lerr := s.store.Template(r.Context(), key, 0); lerr == nil {
			return &httpError{status: http.StatusNotFound, body: APIError{
				Code: "not_found", Field: "version",
				Message: fmt.Sprintf("template %q has no version %d (the latest is %d)", key, version, latest.Version),
			}}
		}
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// importTemplate takes a YAML or JSON template document (JSON is YAML), validates it with
// plans.Parse (422 with every problem and its path and line) and imports it: 201 with the new
// version, or 200 when the latest version already has this content.
func (s *Server) importTemplate(w http.ResponseWriter, r *http.Request, by plans.Actor) error {
	if by.Side == plans.SideBuyer {
		return forbidden("buyers cannot import templates")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return errBadRequest("", "empty body: want a YAML or JSON template document")
	}
	t, err := plans.Parse(data)
	if err != nil {
		return err
	}
	version, created, err := s.store.ImportTemplate(r.Context(), t)
	if err != nil {
		return err
	}
	t.Version = version
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", "/api/v1/templates/"+t.Key)
	writeJSON(w, status, TemplateCreated{Key: t.Key, Version: version, Created: created, Template: t})
	return nil
}
