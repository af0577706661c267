package fakedata

import (
	"reflect"
	"testing"
	"time"
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

// The anchor moves dates, never the records: names, contacts and roles are the same on any day.
func TestGenerateIndependentOfAnchor(t *testing.T) {
	t.Parallel()
	a := Generate(Options{Deals: 3000, Seed: 7})
	b := Generate(Options{Deals: 3000, Seed: 7, Now: time.Date(2027, 3, 14, 15, 9, 26, 0, time.UTC)})
	if len(a.Contacts) != len(b.Contacts) {
		t.Fatalf("got %d and %d contacts for two anchors, want the same", len(a.Contacts), len(b.Contacts))
	}
	for i := range a.Deals {
		if a.Deals[i].Name != b.Deals[i].Name || len(a.Deals[i].Roles) != len(b.Deals[i].Roles) || a.Deals[i].Stage != b.Deals[i].Stage {
			t.Fatalf("deal %d differs between anchors: %+v vs %+v", i, a.Deals[i], b.Deals[i])
		}
	}
}

// Every contact is owned by the seller of the deal it was generated for, and quantities are
// derived: some deals have none, some a fractional one, and quantity times a unit price is the
// amount.
func TestContactOwnersAndQuantities(t *testing.T) {
	t.Parallel()
	ds := Generate(Options{Deals: 300, Seed: 3})
	for _, d := range ds.Deals {
		for _, r := range d.Roles {
			if got := ds.Contacts[r.Contact].Owner; got != d.Owner {
				t.Fatalf("deal %d: contact %d owned by %d, want the deal's owner %d", d.Index, r.Contact, got, d.Owner)
			}
		}
	}
	none, fractional := 0, 0
	for _, d := range ds.Deals {
		switch {
		case d.Quantity == 0:
			none++
		case d.Quantity != float64(int64(d.Quantity)):
			fractional++
		}
		if d.Quantity < 0 || d.Quantity > d.Amount {
			t.Fatalf("deal %d: quantity %v for amount %v", d.Index, d.Quantity, d.Amount)
		}
	}
	if none == 0 || fractional == 0 || none == len(ds.Deals) {
		t.Errorf("got %d deals without quantity and %d fractional ones of %d, want some of each", none, fractional, len(ds.Deals))
	}
}
