package mapping

import (
	"errors"
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	always := func(f string, v any) Desired { return Desired{Field: f, Value: v, Policy: PolicyAlways} }
	ifEmpty := func(f string, v any) Desired { return Desired{Field: f, Value: v, Policy: PolicyIfEmpty} }
	bad := errors.New("bad value")
	tests := []struct {
		name       string
		desired    Desired
		last, crm  map[string]any
		keepEdits  bool
		wantWrite  bool
		wantReason Reason
	}{
		{"new value", always("P", 50.0), nil, map[string]any{"P": "40"}, false, true, ""},
		{"first push, CRM already holds it", always("P", 50.0), nil, map[string]any{"P": "50"}, false, false, SkipUnchanged},
		{"same as last push and CRM", always("P", 50.0), map[string]any{"P": 50.0}, map[string]any{"P": 50.0}, false, false, SkipUnchanged},
		{"CRM unknown, same as last push", always("P", 50.0), map[string]any{"P": 50.0}, nil, false, false, SkipUnchanged},
		{"CRM unknown, never pushed", always("P", 50.0), nil, nil, false, true, ""},
		{"person edited, overwrite", always("P", 50.0), map[string]any{"P": 50.0}, map[string]any{"P": 70.0}, false, true, ""},
		{"person edited, keep edits", always("P", 60.0), map[string]any{"P": 50.0}, map[string]any{"P": 70.0}, true, false, SkipCRMEdited},
		{"keep edits, no edit", always("P", 60.0), map[string]any{"P": 50.0}, map[string]any{"P": "50"}, true, true, ""},
		{"keep edits, never pushed", always("P", 60.0), nil, map[string]any{"P": 70.0}, true, true, ""},
		{"if empty, CRM empty", ifEmpty("D", "2025-03-05"), nil, map[string]any{"D": nil}, false, true, ""},
		{"if empty, CRM unknown", ifEmpty("D", "2025-03-05"), nil, nil, false, true, ""},
		{"if empty, CRM has a value", ifEmpty("D", "2025-03-05"), nil, map[string]any{"D": "2025-01-01"}, false, false, SkipCRMNotEmpty},
		{"if empty, nothing to write", ifEmpty("D", nil), nil, map[string]any{"D": ""}, false, false, SkipUnchanged},
		{"clear a field", always("S", nil), map[string]any{"S": "x"}, map[string]any{"S": "x"}, false, true, ""},
		{"when false", Desired{Field: "P", Skip: SkipWhenFalse}, nil, map[string]any{"P": 1.0}, false, false, SkipWhenFalse},
		{"invalid", Desired{Field: "P", Skip: SkipInvalid, Err: bad}, nil, nil, false, false, SkipInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Diff([]Desired{tt.desired}, tt.last, tt.crm, tt.keepEdits)
			if len(got) != 1 || got[0].Write != tt.wantWrite || got[0].Reason != tt.wantReason {
				t.Fatalf("got %+v, want write %v reason %q", got, tt.wantWrite, tt.wantReason)
			}
			ch := got.Changes()
			if tt.wantWrite && !reflect.DeepEqual(ch, map[string]any{tt.desired.Field: tt.desired.Value}) {
				t.Errorf("changes: got %v, want the field and its value", ch)
			}
			if !tt.wantWrite && ch != nil {
				t.Errorf("changes: got %v, want none", ch)
			}
			if tt.wantReason == SkipInvalid && (len(got.Invalid()) != 1 || !errors.Is(got[0].Err, bad)) {
				t.Errorf("invalid: got %+v, want the error kept", got.Invalid())
			}
		})
	}
}

func TestOverlay(t *testing.T) {
	t.Parallel()
	crm := map[string]any{"A": 1.0, "B": "old"}
	got := Overlay(crm, map[string]any{"B": "pushed"})
	if !reflect.DeepEqual(got, map[string]any{"A": 1.0, "B": "pushed"}) || crm["B"] != "old" {
		t.Errorf("got %v (crm %v), want B pushed and crm unchanged", got, crm)
	}
}
