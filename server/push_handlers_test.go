package server

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/push"
)

// storePush is a PushSource over a real store; its dry run answers a fixed summary, or
// ErrNeedsReauth for the connection "revoked".
type storePush struct {
	s      *store.Store
	marked []string
}

func (p *storePush) known(name string) error {
	if name != "" && name != "hs" && name != "revoked" {
		return &plans.NotFoundError{Kind: "connection", ID: name}
	}
	return nil
}

func (p *storePush) DeadLetters(ctx context.Context, connection string, limit int) ([]store.DeadLetter, error) {
	if err := p.known(connection); err != nil {
		return nil, err
	}
	return p.s.DeadLetters(ctx, connection, limit)
}

func (p *storePush) RetryDeadLetters(ctx context.Context, connection string, dealIDs []string) (int, error) {
	if err := p.known(connection); err != nil {
		return 0, err
	}
	dls, err := p.s.DeadLetters(ctx, connection, 0)
	if err != nil {
		return 0, err
	}
	have := map[string]bool{}
	for _, d := range dls {
		have[d.CRMID] = true
	}
	if len(dealIDs) == 0 {
		for id := range have {
			dealIDs = append(dealIDs, id)
		}
	}
	for _, id := range dealIDs {
		if !have[id] {
			return 0, &plans.NotFoundError{Kind: "dead_letter", ID: id}
		}
	}
	marks, err := p.s.MarkDealPlans(ctx, "sf", dealIDs) // the test plan is of connection sf
	for _, m := range marks {
		p.marked = append(p.marked, m.DealID)
	}
	return len(dealIDs), err
}

func (p *storePush) PushLog(ctx context.Context, connection, dealID string, limit int) ([]store.PushLogEntry, error) {
	if err := p.known(connection); err != nil {
		return nil, err
	}
	return p.s.PushLog(ctx, connection, dealID, limit)
}

func (p *storePush) DryRun(_ context.Context, connection string) (push.Summary, error) {
	if err := p.known(connection); err != nil {
		return push.Summary{}, err
	}
	if connection == "revoked" {
		return push.Summary{}, push.ErrNeedsReauth
	}
	return push.Summary{Connection: connection, DryRun: true, Written: 3, Samples: []push.Sample{{CRMID: "006A", Outcome: "written", Fields: map[string]any{"map_status": "on_track"}}}}, nil
}

func TestPushRoutes(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := t.Context()
		st := b.store.Store
		// Two pushes of deal 006A: one written, then one refused (a push has one outcome per
		// record, so they are two calls).
		for _, o := range []store.PushOutcome{
			{Object: "deal", CRMID: "006A", Outcome: "written", Fields: map[string]any{"map_progress": 40.0}},
			{Object: "deal", CRMID: "006A", Outcome: "dead_letter", Fields: map[string]any{"map_status": "retired"}, Code: "INVALID_OPTION", Message: "map_status: retired is not a valid option"},
		} {
			if err := st.RecordPush(ctx, "hs", []store.PushOutcome{o}); err != nil {
				t.Fatal(err)
			}
		}
		src := &storePush{s: st}
		srv, err := New(Options{Store: b.store, Logger: zerolog.Nop(), Push: src})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(ts.Close)
		b.url = ts.URL

		t.Run("authenticated like the rest", func(t *testing.T) {
			for _, path := range []string{"/api/v1/push/dead-letters", "/api/v1/deals/006A/push-log", "/api/v1/connections/hs/push/dry-run"} {
				b.do("GET", path, nil, "Authorization", "").wantError(t, 401, "unauthorized", "")
			}
			b.do("POST", "/api/v1/push/dead-letters/retry", map[string]any{"all": true}, "Authorization", "").wantError(t, 401, "unauthorized", "")
		})

		t.Run("dead letters", func(t *testing.T) {
			var out struct {
				DeadLetters []store.DeadLetter `json:"dead_letters"`
			}
			b.do("GET", "/api/v1/push/dead-letters?connection=hs", nil).ok(t, 200, &out)
			if len(out.DeadLetters) != 1 || out.DeadLetters[0].Code != "INVALID_OPTION" || out.DeadLetters[0].CRMID != "006A" {
				t.Fatalf("got %+v", out)
			}
			b.do("GET", "/api/v1/push/dead-letters?connection=nope", nil).wantError(t, 400, "bad_request", "connection")
			b.do("GET", "/api/v1/push/dead-letters?conection=hs", nil).wantError(t, 400, "bad_request", "conection")
		})

		t.Run("push log, newest first", func(t *testing.T) {
			var out struct {
				Entries []store.PushLogEntry `json:"entries"`
			}
			b.do("GET", "/api/v1/deals/006A/push-log", nil).ok(t, 200, &out)
			if len(out.Entries) != 2 || out.Entries[0].Outcome != "dead_letter" || out.Entries[1].Fields["map_progress"] != 40.0 {
				t.Fatalf("got %+v", out)
			}
			b.do("GET", "/api/v1/deals/nothing/push-log", nil).ok(t, 200, &out)
			if len(out.Entries) != 0 {
				t.Fatalf("got %+v", out)
			}
		})

		t.Run("retry", func(t *testing.T) {
			b.do("POST", "/api/v1/push/dead-letters/retry", map[string]any{}).wantError(t, 400, "bad_request", "all")
			b.do("POST", "/api/v1/push/dead-letters/retry", map[string]any{"all": true, "deal_ids": []string{"006A"}}).wantError(t, 400, "bad_request", "all")
			b.do("POST", "/api/v1/push/dead-letters/retry", map[string]any{"deal_ids": []string{"006B"}}).wantError(t, 400, "bad_request", "deal_ids")
			b.do("POST", "/api/v1/push/dead-letters/retry", `{"deal_ids": "006A"}`).wantError(t, 400, "bad_request", "deal_ids")
			var out struct {
				Pending int `json:"pending"`
			}
			b.do("POST", "/api/v1/push/dead-letters/retry", map[string]any{"connection": "hs", "deal_ids": []string{"006A"}}).ok(t, 202, &out)
			if out.Pending != 1 || len(src.marked) != 1 || src.marked[0] != "006A" {
				t.Fatalf("got %+v, marked %v", out, src.marked)
			}
		})

		t.Run("dry run", func(t *testing.T) {
			var sum push.Summary
			b.do("GET", "/api/v1/connections/hs/push/dry-run", nil).ok(t, 200, &sum)
			if !sum.DryRun || sum.Written != 3 || len(sum.Samples) != 1 {
				t.Fatalf("got %+v", sum)
			}
			e := b.do("GET", "/api/v1/connections/revoked/push/dry-run", nil).wantError(t, 409, "needs_reauth", "connection")
			if !strings.Contains(e.Message, "authorised again") {
				t.Errorf("message %q", e.Message)
			}
			b.do("GET", "/api/v1/connections/nope/push/dry-run", nil).wantError(t, 400, "bad_request", "connection")
		})
	})
}

// FuzzRetryPushRequest: any body decodes to a request that is accepted or refused with a 400,
// never a panic; an accepted one names all or at least one non-empty deal id.
func FuzzRetryPushRequest(f *testing.F) {
	for _, s := range []string{`{"all":true}`, `{"deal_ids":["006A"]}`, `{"connection":"hs","deal_ids":["a","b"]}`,
		`{"deal_ids":[""]}`, `{"all":true,"deal_ids":["x"]}`, `{"deal_ids":["\u0000"]}`, `{}`, `[]`, `{"all":"yes"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req RetryPushRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		if err := req.check(); err != nil {
			if status, _ := classify(err); status != 400 {
				t.Fatalf("%q: status %d", body, status)
			}
			return
		}
		if !req.All && len(req.DealIDs) == 0 {
			t.Fatalf("%q accepted with nothing to retry", body)
		}
		for _, id := range req.DealIDs {
			if id == "" {
				t.Fatalf("%q accepted with an empty id", body)
			}
		}
	})
}
