package salesforce

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/mapsync/mapsync/connectors"
	sandbox "github.com/mapsync/mapsync/sandbox/salesforce"
)

func TestPullObjects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		object  connectors.Object
		sobject string
		fields  []string // must be present on every record
	}{
		{object: connectors.ObjectDeal, sobject: "Opportunity", fields: []string{"Name", "StageName", "Amount", "CloseDate", "OwnerId", "IsDeleted"}},
		{object: connectors.ObjectContact, sobject: "Contact", fields: []string{"FirstName", "LastName", "Email", "AccountId"}},
		{object: connectors.ObjectDealContact, sobject: "OpportunityContactRole", fields: []string{"OpportunityId", "ContactId", "Role", "IsPrimary"}},
		{object: connectors.ObjectOwner, sobject: "User", fields: []string{"Name", "Email", "IsActive"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.object), func(t *testing.T) {
			t.Parallel()
			c, b := setup(t, sandbox.Options{Deals: 300}, nil, func(o *Options) { o.PageSize = 200 })
			calls0 := opCalls(t, b.reg, "query")
			res := pull(t, c, connectors.PullRequest{Object: tt.object, Full: true})
			if tt.object == connectors.ObjectDealContact {
				checkDealOrder(t, res)
			} else {
				checkOrdered(t, res)
			}
			calls := opCalls(t, b.reg, "query") - calls0
			if n := len(res.records); calls != int64((n+199)/200) {
				t.Errorf("query calls: got %d, want %d for %d records", calls, (n+199)/200, n)
			}
			want := b.sb.IDs(tt.sobject)
			got := res.ids()
			for _, id := range want {
				if got[id] != 1 {
					t.Errorf("record %s delivered %d times, want 1", id, got[id])
				}
			}
			if len(got) < len(want) {
				t.Errorf("got %d records, want at least %d", len(got), len(want))
			}
			for _, r := range res.records {
				if r.Object != tt.object {
					t.Fatalf("record object: got %s, want %s", r.Object, tt.object)
				}
				for _, f := range tt.fields {
					if _, ok := r.Fields[f]; !ok {
						t.Fatalf("record %s lacks field %s: %v", r.ID, f, r.Fields)
					}
				}
				if _, ok := r.Fields["attributes"]; ok {
					t.Fatalf("record %s keeps attributes", r.ID)
				}
			}
			if tt.object != connectors.ObjectDealContact {
				return
			}
			// Every page carries the complete roles of its deals.
			for _, p := range res.pages {
				for _, r := range p.Records {
					deal := r.Fields["OpportunityId"].(string)
					roles, ok := p.Roles[deal]
					if !ok {
						t.Fatalf("page lacks the roles of deal %s", deal)
					}
					found := false
					for _, dc := range roles {
						if dc.ContactID == r.Fields["ContactId"] && dc.DealID == deal {
							found = true
						}
					}
					if !r.Deleted && !found {
						t.Errorf("roles of deal %s lack contact %v", deal, r.Fields["ContactId"])
					}
				}
			}
		})
	}
}

func TestPullPagingCalls(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		pageSize, queryLimit int
	}{
		"nextRecordsUrl":      {pageSize: 200},
		"keyset LIMIT pages":  {pageSize: 200, queryLimit: 200},
		"keyset LIMIT > page": {pageSize: 200, queryLimit: 400},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t, sandbox.Options{Deals: 1000}, nil, func(o *Options) { o.PageSize = tt.pageSize; o.QueryLimit = tt.queryLimit })
			calls0 := opCalls(t, b.reg, "query")
			res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
			checkOrdered(t, res)
			n := len(res.records)
			if n != len(b.sb.IDs("Opportunity")) {
				t.Errorf("records: got %d, want %d", n, len(b.sb.IDs("Opportunity")))
			}
			calls := opCalls(t, b.reg, "query") - calls0
			minimum := int64((n + tt.pageSize - 1) / tt.pageSize)
			limit := minimum
			if tt.queryLimit > 0 && n%tt.queryLimit == 0 {
				limit++ // an exact multiple needs one empty query to see the end
			}
			if calls < minimum || calls > limit {
				t.Errorf("API calls: got %d, want %d..%d for %d records at %d per page", calls, minimum, limit, n, tt.pageSize)
			}
		})
	}
}

func TestPullIdenticalStampsAcrossPages(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		queryLimit int
		overlap    time.Duration
	}{
		"locator paging":          {},
		"keyset inside one stamp": {queryLimit: 200},
		"with overlap":            {queryLimit: 200, overlap: time.Minute},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t, sandbox.Options{Deals: 600}, nil, func(o *Options) { o.PageSize = 200; o.QueryLimit = tt.queryLimit })
			first := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
			mu, err := b.sb.MassUpdate("Opportunity", 450, map[string]any{"NextStep": "mass"})
			if err != nil {
				t.Fatal(err)
			}
			res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: first.last(), Overlap: tt.overlap})
			checkOrdered(t, res)
			mass := 0
			seen := map[string]bool{}
			for _, r := range res.records {
				if r.Fields["NextStep"] == "mass" {
					mass++
					if seen[r.ID] {
						t.Errorf("record %s delivered twice", r.ID)
					}
					seen[r.ID] = true
				}
			}
			if mass != mu.Updated {
				t.Errorf("mass-updated records: got %d, want %d", mass, mu.Updated)
			}
			if tt.overlap == 0 && len(res.records) != mu.Updated {
				t.Errorf("records without overlap: got %d, want exactly %d", len(res.records), mu.Updated)
			}
			// Pulling again from the new cursor finds nothing new.
			again := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: res.last()})
			if len(again.records) != 0 {
				t.Errorf("pull after the last cursor: got %d records, want 0", len(again.records))
			}
		})
	}
}

func TestPullLateVisibleRecordCaughtByOverlap(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		overlap  time.Duration
		wantLate bool
	}{
		"no overlap misses it": {overlap: 0, wantLate: false},
		"overlap catches it":   {overlap: 2 * time.Minute, wantLate: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t, sandbox.Options{Deals: 100}, nil, nil)
			ids := b.sb.IDs("Opportunity")
			first := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
			// A write stamped 30 s ago commits late; meanwhile another write moves the cursor past it.
			lateID, err := b.sb.CommitLag(sandbox.LagChange{Object: "Opportunity", ID: ids[0], Fields: map[string]any{"NextStep": "late"}, StampBehind: 30 * time.Second, Hold: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.sb.UpdateRecord("Opportunity", ids[1], map[string]any{"NextStep": "prompt"}); err != nil {
				t.Fatal(err)
			}
			mid := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: first.last(), Overlap: tt.overlap})
			if got := mid.ids(); got[ids[1]] != 1 || got[lateID] != 0 {
				t.Fatalf("before release: got %v, want only %s", got, ids[1])
			}
			b.sb.ReleaseLagged()
			res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: mid.last(), Overlap: tt.overlap})
			late := false
			for _, r := range res.records {
				if r.ID == lateID && r.Fields["NextStep"] == "late" {
					late = true
				}
			}
			if late != tt.wantLate {
				t.Errorf("late record delivered: got %v, want %v", late, tt.wantLate)
			}
		})
	}
}

func TestPullDeletes(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 100}, nil, nil)
	ids := b.sb.IDs("Opportunity")
	first := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
	if err := b.sb.DeleteRecord("Opportunity", ids[5]); err != nil {
		t.Fatal(err)
	}
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: first.last()})
	if len(res.records) != 1 || res.records[0].ID != ids[5] || !res.records[0].Deleted {
		t.Fatalf("got %+v, want only %s marked deleted", res.records, ids[5])
	}
	// Its contact roles go with it: the deal_contact pull reports them deleted and the deal's role
	// set empty.
	roles := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDealContact, Since: connectors.Cursor{Stamp: first.last().Stamp}})
	for _, p := range roles.pages {
		if rs, ok := p.Roles[ids[5]]; ok && len(rs) != 0 {
			t.Errorf("roles of the deleted deal: got %v, want none", rs)
		}
	}
}

func TestPullRecordDeletedMidRun(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 600}, nil, func(o *Options) { o.PageSize = 200 })
	ids := b.sb.IDs("Opportunity")
	var victim string
	res, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, func(p connectors.Page) error {
		if victim == "" {
			victim = p.Records[0].ID // already delivered: it must come again, deleted
			return b.sb.DeleteRecord("Opportunity", victim)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkOrdered(t, res)
	got := res.ids()
	for _, id := range ids {
		if got[id] == 0 {
			t.Errorf("record %s missed", id)
		}
	}
	// The query locator is a snapshot: the delete shows up in the next incremental pull.
	next := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Since: res.last(), Overlap: time.Minute})
	found := false
	for _, r := range next.records {
		if r.ID == victim && r.Deleted {
			found = true
		}
	}
	if !found {
		t.Errorf("victim %s not reported deleted by the next pull (got %d records)", victim, len(next.records))
	}
}

func TestPullFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		fault       sandbox.Fault
		attempt     time.Duration // per-attempt timeout; 0 keeps the default
		wantKind    connectors.Kind
		wantRetries float64
	}{
		{name: "5xx burst", fault: sandbox.Fault{Kind: sandbox.FaultServerError, Status: 503, Count: 3, Endpoint: "query.more"}, wantRetries: 3},
		{name: "500 then fine", fault: sandbox.Fault{Kind: sandbox.FaultServerError, Count: 1}, wantRetries: 1},
		{name: "429 with Retry-After", fault: sandbox.Fault{Kind: sandbox.FaultLimit, Status: 429, Count: 1, Endpoint: "query.more"}, wantRetries: 1},
		{name: "daily limit 403", fault: sandbox.Fault{Kind: sandbox.FaultLimit, Status: 403, Count: 1, Endpoint: "query.more"}, wantKind: connectors.KindRateLimited},
		{name: "5xx past the attempt cap", fault: sandbox.Fault{Kind: sandbox.FaultServerError, Status: 500, Count: 10, Endpoint: "query.more"}, wantKind: connectors.KindTransient, wantRetries: 3},
		{name: "slow page retried", fault: sandbox.Fault{Kind: sandbox.FaultSlow, Delay: time.Minute, Count: 1, Endpoint: "query.more"}, attempt: time.Second, wantRetries: 1},
		{name: "slow CRM times out", fault: sandbox.Fault{Kind: sandbox.FaultSlow, Delay: time.Minute, Count: 10, Endpoint: "query.more"}, attempt: time.Second, wantKind: connectors.KindTransient, wantRetries: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, b := setup(t, sandbox.Options{Deals: 300}, nil, func(o *Options) {
				o.PageSize = 200
				if tt.attempt > 0 {
					o.Retry.AttemptTimeout = tt.attempt
				}
			})
			clean := pull(t, c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true})
			if err := b.sb.InjectFault(tt.fault); err != nil {
				t.Fatal(err)
			}
			before := metricSum(t, b.reg, "mapsync_connector_retries_total")
			res, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, nil)
			if got := metricSum(t, b.reg, "mapsync_connector_retries_total") - before; got != tt.wantRetries {
				t.Errorf("retries: got %v, want %v", got, tt.wantRetries)
			}
			if tt.wantKind == 0 {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				if len(res.records) != len(clean.records) {
					t.Errorf("records: got %d, want %d", len(res.records), len(clean.records))
				}
				checkOrdered(t, res)
				return
			}
			if got := connectors.KindOf(err); got != tt.wantKind {
				t.Fatalf("got %v (%s), want %s", err, got, tt.wantKind)
			}
			if !strings.Contains(err.Error(), "pull deal page 2") {
				t.Errorf("error %q does not say which page failed", err)
			}
			if got := metricSum(t, b.reg, "mapsync_connector_errors_total"); got != 1 {
				t.Errorf("errors metric: got %v, want 1", got)
			}
			// The failing page was not delivered, in part or whole: only page 1 arrived.
			if len(res.pages) != 1 || len(res.records) != 200 {
				t.Errorf("delivered %d pages, %d records; want exactly the first page of 200", len(res.pages), len(res.records))
			}
		})
	}
}

func TestPullRefreshesExpiredToken(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 50}, nil, nil)
	pull(t, c, connectors.PullRequest{Object: connectors.ObjectOwner, Full: true})
	b.sb.ExpireTokens()
	res := pull(t, c, connectors.PullRequest{Object: connectors.ObjectOwner, Full: true})
	if len(res.records) == 0 {
		t.Fatal("no records after the refresh")
	}
	if got := metricSum(t, b.reg, "mapsync_connector_token_refreshes_total"); got != 2 {
		t.Errorf("refreshes: got %v, want 2 (login, then after expiry)", got)
	}
	if b.store.saves != 2 {
		t.Errorf("tokens saved: got %d, want 2", b.store.saves)
	}
	if got := tokenCalls(t, b.reg); got != 2 {
		t.Errorf("token endpoint calls: got %d, want 2", got)
	}
	tok, err := b.store.LoadToken(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Extra("instance_url"); got != b.server.URL {
		t.Errorf("saved instance_url: got %v, want %s", got, b.server.URL)
	}
	if logs := b.logs.String(); strings.Contains(logs, tok.AccessToken) || strings.Contains(logs, sandbox.RefreshToken) || strings.Contains(logs, sandbox.ClientSecret) {
		t.Error("logs show a token or the client secret")
	}
}

func TestPullRevokedRefreshTokenNeedsReauth(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sandbox.Options{Deals: 50}, nil, nil)
	pull(t, c, connectors.PullRequest{Object: connectors.ObjectOwner, Full: true})
	b.sb.RevokeRefreshToken()
	for range 2 {
		res, err := tryPull(t.Context(), c, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, nil)
		var e *connectors.Error
		if !errors.As(err, &e) || e.Kind != connectors.KindNeedsReauth || e.Code != "invalid_grant" {
			t.Fatalf("got %v, want needs_reauth invalid_grant", err)
		}
		if len(res.records) != 0 {
			t.Errorf("records: got %d, want 0", len(res.records))
		}
	}
	reasons := b.reauth.list()
	if len(reasons) != 1 || !strings.Contains(reasons[0], "expired access/refresh token") || !strings.Contains(reasons[0], "acme") {
		t.Errorf("reauth reports: got %q, want one naming the connection and the CRM's reason", reasons)
	}
	if got := tokenCalls(t, b.reg); got != 2 {
		t.Errorf("token endpoint calls: got %d, want 2 (login, one refused refresh)", got)
	}
	if strings.Contains(b.logs.String(), sandbox.RefreshToken) {
		t.Error("logs show the refresh token")
	}
}

func TestForeignInstanceURLRefused(t *testing.T) {
	t.Parallel()
	var stolen atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stolen.Add(1) }))
	t.Cleanup(evil.Close)
	t.Cleanup(func() {
		if got := stolen.Load(); got != 0 {
			t.Errorf("foreign host received %d requests, want 0", got)
		}
	})
	tests := []struct {
		name     string
		instance string // "" keeps the sandbox's own
		policy   func(sandboxURL string) connectors.InstancePolicy
	}{
		{name: "foreign https host", instance: "https://evil.example.com", policy: func(string) connectors.InstancePolicy {
			return connectors.InstancePolicy{Sandbox: true}
		}},
		{name: "loopback host other than the configured one", instance: evil.URL, policy: func(u string) connectors.InstancePolicy {
			return connectors.InstancePolicy{Sandbox: true, Hosts: []string{strings.TrimPrefix(u, "http://")}}
		}},
		{name: "loopback http without the sandbox mark", policy: func(string) connectors.InstancePolicy {
			return connectors.InstancePolicy{}
		}},
		{name: "lookalike domain", instance: "https://acme.my.salesforce.com.evil.example.com", policy: func(string) connectors.InstancePolicy {
			return connectors.InstancePolicy{}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sbURL string
			c, b := setup(t, sandbox.Options{Deals: 10}, nil, nil)
			sbURL = b.server.URL
			// Rebuild the connector with the test's policy and a token pointing at the instance.
			instance := tt.instance
			if instance == "" {
				instance = sbURL
			}
			tok := (&oauth2.Token{AccessToken: b.sb.AccessToken(), RefreshToken: sandbox.RefreshToken}).WithExtra(map[string]any{"instance_url": instance})
			if err := b.store.SaveToken(t.Context(), "acme", tok); err != nil {
				t.Fatal(err)
			}
			opts := c.opts
			opts.Instance = tt.policy(sbURL)
			c2, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			calls0 := opCalls(t, b.reg, "")
			_, err = tryPull(t.Context(), c2, connectors.PullRequest{Object: connectors.ObjectDeal, Full: true}, nil)
			var e *connectors.Error
			if !errors.As(err, &e) || e.Code != "FOREIGN_INSTANCE_URL" || e.Kind != connectors.KindAuth {
				t.Fatalf("got %v, want FOREIGN_INSTANCE_URL auth error", err)
			}
			if got := opCalls(t, b.reg, "") - calls0; got != 0 {
				t.Errorf("requests sent: got %d, want 0", got)
			}
			// Refused before anything was sent, and counted as one failed operation of kind auth.
			if got := metricSum(t, b.reg, "mapsync_connector_errors_total"); got != 1 {
				t.Errorf("errors metric: got %v, want 1", got)
			}
			if got := errorsOfKind(t, b.reg, "query", connectors.KindAuth); got != 1 {
				t.Errorf("errors metric {op=query, kind=auth}: got %v, want 1", got)
			}
		})
	}
}
