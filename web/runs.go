package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/pull"
)

// runRow is a run as the Runs page shows it: the stored row and its summary (per-object
// counts, API calls, retries), read from the run's stats.
type runRow struct {
	store.Run
	Connection string
	Summary    pull.Summary
	Duration   string
}

type runsData struct {
	Connection  string
	Connections []string
	Runs        []runRow
	Limit       int
}

func (h *Handler) runsPage(w http.ResponseWriter, r *http.Request, s *Session) error {
	if h.console == nil {
		return errNoConsole
	}
	q := r.URL.Query()
	d := runsData{Connection: q.Get("connection"), Limit: 50}
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v > 0 && v <= 500 {
		d.Limit = v
	}
	cs, err := h.console.Connections(r.Context())
	if err != nil {
		return err
	}
	names := map[int64]string{}
	for _, c := range cs {
		d.Connections = append(d.Connections, c.Name)
	}
	runs, err := h.console.Runs(r.Context(), d.Connection, d.Limit)
	if err != nil {
		return asUserError(err, http.StatusBadRequest)
	}
	ids, err := h.console.ConnectionIDs(r.Context())
	if err != nil {
		return err
	}
	for name, id := range ids {
		names[id] = name
	}
	for _, run := range runs {
		row := runRow{Run: run, Connection: names[run.ConnectionID]}
		_ = json.Unmarshal([]byte(run.Stats), &row.Summary) // a run still running has "{}"
		switch {
		case run.FinishedAt != nil:
			row.Duration = run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond).String()
		case row.Summary.Took != "":
			row.Duration = row.Summary.Took
		default:
			row.Duration = "running for " + h.now().Sub(run.StartedAt).Round(time.Second).String()
		}
		d.Runs = append(d.Runs, row)
	}
	h.render(w, r, http.StatusOK, "runs", &Page{Title: "Runs", Nav: "runs", Data: d})
	return nil
}
