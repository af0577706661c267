package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mapsync/mapsync/mapping"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/push"
)

type mappingsData struct {
	Connections []string
	Connection  string
	Mapping     *MappingView
	// Checked is true after a check against the CRM's metadata; Problems are its problems by
	// field ("" for the connection-wide ones), MetaAt when the metadata was read.
	Checked  bool
	Problems map[string][]mapping.Problem
	Count    int
	MetaAt   time.Time
	CheckErr string
	Deal     string
	Preview  *MappingPreview
	PrevErr  string
	DryRun   *push.Summary
	DryErr   string
}

// mappingsPage shows a connection's push mapping (fields and expressions); with ?check=1 the
// problems of a check against the CRM's live metadata at their fields, with ?deal= a preview
// for that deal, with ?dry_run=1 what a push would write now. All of them only read: they are
// GETs.
func (h *Handler) mappingsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	if h.pushes == nil {
		return errNoConsole
	}
	q := r.URL.Query()
	views, err := h.pushes.Mappings(r.Context())
	if err != nil {
		return err
	}
	d := mappingsData{Connection: q.Get("connection"), Deal: strings.TrimSpace(q.Get("deal")), Problems: map[string][]mapping.Problem{}}
	for i := range views {
		d.Connections = append(d.Connections, views[i].Connection)
		if views[i].Connection == d.Connection || (d.Connection == "" && i == 0) {
			d.Mapping = &views[i]
			d.Connection = views[i].Connection
		}
	}
	if d.Mapping == nil && d.Connection != "" {
		return &UserError{Status: http.StatusNotFound, Message: "Connection " + d.Connection + " has no push mapping (connections[].push in the configuration)."}
	}
	if d.Mapping != nil && q.Get("check") != "" {
		ps, at, err := h.pushes.CheckMapping(r.Context(), d.Connection)
		if err != nil {
			d.CheckErr = err.Error()
		} else {
			d.Checked, d.MetaAt, d.Count = true, at, len(ps)
			for _, p := range ps {
				d.Problems[p.Field] = append(d.Problems[p.Field], p)
			}
		}
	}
	if d.Mapping != nil && d.Deal != "" {
		p, err := h.pushes.PreviewMapping(r.Context(), d.Connection, d.Deal)
		if err != nil {
			d.PrevErr = err.Error()
		}
		d.Preview = p
	}
	if d.Mapping != nil && q.Get("dry_run") != "" {
		sum, err := h.pushes.DryRun(r.Context(), d.Connection)
		if err != nil {
			d.DryErr = err.Error()
		} else {
			d.DryRun = &sum
		}
	}
	h.render(w, r, http.StatusOK, "mappings", &Page{Title: "Mappings", Nav: "mappings", Data: d})
	return nil
}

type pushData struct {
	Connections []string
	Connection  string
	DeadLetters []store.DeadLetter
	Deal        string
	Log         []store.PushLogEntry
}

// pushPage shows the push dead letters (with the CRM's code and message) and, for ?deal=, the
// deal's push log.
func (h *Handler) pushPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	if h.pushes == nil || h.console == nil {
		return errNoConsole
	}
	q := r.URL.Query()
	d := pushData{Connection: q.Get("connection"), Deal: strings.TrimSpace(q.Get("deal"))}
	names, err := h.connectionNames(r)
	if err != nil {
		return err
	}
	d.Connections = names
	if d.DeadLetters, err = h.pushes.DeadLetters(r.Context(), d.Connection); err != nil {
		return asUserError(err, http.StatusBadRequest)
	}
	if d.Deal != "" {
		if d.Log, err = h.pushes.PushLog(r.Context(), d.Connection, d.Deal, 100); err != nil {
			return asUserError(err, http.StatusBadRequest)
		}
	}
	h.render(w, r, http.StatusOK, "push", &Page{Title: "Push", Nav: "push", Data: d})
	return nil
}

// retryDeadLetters is the Retry (one deal) and Retry all buttons: the deals are marked for a
// push and pushed now, and the outcome is left as a flash.
func (h *Handler) retryDeadLetters(w http.ResponseWriter, r *http.Request, s *Session) error {
	if h.pushes == nil {
		return errNoConsole
	}
	conn := r.PostFormValue("connection")
	var ids []string
	if deal := r.PostFormValue("deal"); deal != "" {
		ids = []string{deal}
	}
	to := "/console/push"
	if conn != "" {
		to += "?connection=" + conn
	}
	rt, err := h.pushes.RetryDeadLetters(r.Context(), conn, ids)
	if err != nil {
		h.redirectFlash(w, r, to, "error", "Retry failed: "+err.Error())
		return nil
	}
	n := rt.Retried
	if rt.Queued {
		h.log.Info().Str("connection", conn).Strs("deals", ids).Int("retried", n).Str("actor", s.Actor.ID).Msg("web dead letters queued")
		h.redirectFlash(w, r, to, "ok", plural(n, "dead letter")+" queued for a push: a deal the CRM accepts leaves this list; each deal's push log shows the outcome.")
		return nil
	}
	written, dead := 0, 0
	for _, sm := range rt.Pushed {
		written += sm.Written
		dead += sm.DeadLetters
	}
	h.log.Info().Str("connection", conn).Strs("deals", ids).Int("retried", n).Int("written", written).Str("actor", s.Actor.ID).Msg("web dead letters retried")
	msg := plural(n, "dead letter") + " retried: " + plural(written, "deal") + " written"
	if dead > 0 {
		msg += ", " + plural(dead, "deal") + " refused again (see the CRM's message below)"
		h.redirectFlash(w, r, to, "error", msg+".")
		return nil
	}
	h.redirectFlash(w, r, to, "ok", msg+".")
	return nil
}

func plural(n int, what string) string {
	if n != 1 {
		what += "s"
	}
	return strconv.Itoa(n) + " " + what
}
