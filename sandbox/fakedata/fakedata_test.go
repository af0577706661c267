package fakedata

import (
	"reflect"
	"testing"
)

func TestGenerateIsDeterministic(t *testing.T) {
	t.Parallel()
	a := Generate(Options{Deals: 200, Seed: 7})
	b := Generate(Options{Deals: 200, Seed: 7})
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different datasets")
	}
	c := Generate(Options{Deals: 200, Seed: 8})
	if reflect.DeepEqual(a.Deals, c.Deals) {
		t.Fatal("different seeds gave the same deals")
	}
}

func TestGenerateShape(t *testing.T) {
	t.Parallel()
	ds := Generate(Options{Deals: 1000, Seed: 1})
	if got := len(ds.Deals); got != 1000 {
		t.Fatalf("got %d deals, want 1000", got)
	}
	if got := float64(len(ds.Contacts)) / 1000; got < 1.7 || got > 2.3 {
		t.Errorf("got %.2f contacts per deal, want about 2", got)
	}
	for _, d := range ds.Deals {
		if d.ModifiedAt.Before(d.CreatedAt) {
			t.Fatalf("deal %d modified %v before created %v", d.Index, d.ModifiedAt, d.CreatedAt)
		}
		primaries := 0
		for _, r := range d.Roles {
			if r.Primary {
				primaries++
			}
			if ds.Contacts[r.Contact].Company != d.Company {
				t.Fatalf("deal %d contact from another company", d.Index)
			}
		}
		if primaries != 1 {
			t.Fatalf("deal %d has %d primary contacts, want 1", d.Index, primaries)
		}
		if d.Stage < 0 || d.Stage >= len(Pipelines[d.Pipeline]) {
			t.Fatalf("deal %d stage %d out of pipeline %q", d.Index, d.Stage, d.Pipeline)
		}
	}
}
