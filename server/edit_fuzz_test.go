package server

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzEditBodies feeds arbitrary bodies to the decoding of the edit requests (embedded structs,
// nested due rules and type details, dates): each is decoded or refused with a 400 or 413 in the
// API's error shape, never a panic or a 5xx.
func FuzzEditBodies(f *testing.F) {
	for _, s := range []string{
		`{"plan_version":3,"phase_id":"p","title":"T","due_rule":{"after":"kickoff","business_days":2},"details":{"url":"https://x.test"}}`,
		`{"plan_version":3,"phase_id":"p","title":"T","due":"2026-03-01","sub_tasks":["a"],"questions":[{"key":"q","text":"Q","kind":"text"}]}`,
		`{"version":1,"type":"meeting","details":{"scheduled_at":"2026-03-05T10:00"}}`,
		`{"version":1,"step":"reject","reason":"no"}`,
		`{"version":1,"approver_role":"champion","signer_id":""}`,
		`{"plan_version":1,"target_date":null}`, `{"due":"tomorrow"}`, `{"details":{"url":1}}`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	targets := []func() any{
		func() any { return &addActionRequest{} }, func() any { return &detailsRequest{} },
		func() any { return &milestoneRequest{} }, func() any { return &phasePatch{} },
		func() any { return &CreatePlanRequest{} },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range targets {
			r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			err := decode(httptest.NewRecorder(), r, target(), false)
			if err == nil {
				continue
			}
			status, apiErr := classify(err)
			var mbe *http.MaxBytesError
			if (status != http.StatusBadRequest && !errors.As(err, &mbe)) || apiErr.Message == "" {
				t.Fatalf("%q: got %d %+v, want a 400 with a message", body, status, apiErr)
			}
		}
	})
}
