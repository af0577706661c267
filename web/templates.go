package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mapsync/mapsync/plans"
)

// maxTemplateBytes bounds an imported template document (the API's body limit).
const maxTemplateBytes = 1 << 20

type templatesData struct {
	Templates []*plans.Template
	// Import is the outcome of an import: the document's problems with their paths, or what was
	// imported.
	Problems []plans.Problem
	Source   string
}

func (h *Handler) templatesPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	return h.renderTemplates(w, r, http.StatusOK, templatesData{})
}

func (h *Handler) renderTemplates(w http.ResponseWriter, r *http.Request, status int, d templatesData) error {
	ts, err := h.store.Templates(r.Context())
	if err != nil {
		return err
	}
	d.Templates = ts
	h.render(w, r, status, "templates", &Page{Title: "Templates", Nav: "templates", Data: d})
	return nil
}

type templateData struct {
	Template *plans.Template
}

// templatePage shows one template: its roles, and its phases with their actions (type, owner
// role, due rule, internal, milestone).
func (h *Handler) templatePage(w http.ResponseWriter, r *http.Request, s *Session) error {
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return &UserError{Status: http.StatusBadRequest, Message: "version: want a positive number, got " + strconv.Quote(v)}
		}
		version = n
	}
	t, err := h.store.Template(r.Context(), r.PathValue("key"), version)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "template", &Page{Title: "Template " + t.Name, Nav: "templates", Data: templateData{Template: t}})
	return nil
}

// importTemplate imports an uploaded (or pasted) YAML or JSON template as POST
// /api/v1/templates does: plans.Parse, then the store's ImportTemplate. A document with
// problems is shown back with each problem at its path and line.
func (h *Handler) importTemplate(w http.ResponseWriter, r *http.Request, s *Session) error {
	var data []byte
	if f, _, err := r.FormFile("file"); err == nil {
		defer f.Close()
		if data, err = io.ReadAll(io.LimitReader(f, maxTemplateBytes+1)); err != nil {
			return err
		}
	} else if !errors.Is(err, http.ErrMissingFile) && !errors.Is(err, http.ErrNotMultipart) {
		return &UserError{Status: http.StatusBadRequest, Message: "The upload could not be read: " + err.Error()}
	}
	if len(data) == 0 {
		data = []byte(r.PostFormValue("document"))
	}
	switch {
	case len(data) == 0:
		return h.renderTemplates(w, r, http.StatusBadRequest, templatesData{Problems: []plans.Problem{{Message: "choose a file or paste a document"}}})
	case len(data) > maxTemplateBytes:
		return h.renderTemplates(w, r, http.StatusRequestEntityTooLarge, templatesData{Problems: []plans.Problem{{Message: fmt.Sprintf("the document is over %d bytes", maxTemplateBytes)}}})
	}
	t, err := plans.Parse(data)
	var ve *plans.ValidationError
	if errors.As(err, &ve) {
		return h.renderTemplates(w, r, http.StatusUnprocessableEntity, templatesData{Problems: ve.Problems, Source: string(data)})
	}
	if err != nil {
		return err
	}
	version, created, err := h.store.ImportTemplate(r.Context(), t)
	if err != nil {
		return err
	}
	h.log.Info().Str("template", t.Key).Int("version", version).Bool("created", created).Str("actor", s.Actor.ID).Msg("web template imported")
	msg := fmt.Sprintf("Imported %s as version %d.", t.Key, version)
	if !created {
		msg = fmt.Sprintf("%s version %d already has this content: nothing changed.", t.Key, version)
	}
	h.redirectFlash(w, r, "/console/templates/"+t.Key, "ok", msg)
	return nil
}

// dueRule describes a due rule in words ("14 business days after close_date").
func dueRule(d *plans.DueRule) string {
	if d == nil {
		return "no due date"
	}
	n, unit := d.Days, "day"
	if d.BusinessDays != 0 {
		n, unit = d.BusinessDays, "business day"
	}
	from := string(d.From)
	if d.After != "" {
		from = "action " + d.After + " is done"
	}
	rel := "after"
	if n < 0 {
		n, rel = -n, "before"
	}
	if n != 1 {
		unit += "s"
	}
	if n == 0 {
		return "on " + strings.ReplaceAll(from, "_", " ")
	}
	return fmt.Sprintf("%d %s %s %s", n, unit, rel, strings.ReplaceAll(from, "_", " "))
}
