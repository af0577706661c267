package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/connectors"
	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/secrets"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/store/storetest"
)

// oddTexts are values COPY's text format must escape or carry as they are: its column and row
// separators, its escape character and NULL marker, its end-of-data line, quotes, and Unicode
// beyond ASCII (wide, right-to-left, combining, line separators, astral).
var oddTexts = []string{
	"tab\there", "new\nline", "carriage\rreturn", "crlf\r\n", `back\slash`, `\N`, `\.`, "\\.\n", `ends with \`,
	`"quoted" 'single'`, "comma, semicolon; pipe|", "", " ", "日本語のテキスト", "עברית ومعها العربية", "e\u0301 combining",
	"line\u2028separator\u2029", "emoji 🧭🚀👩‍👩‍👧", "\x7f\x01\x1f controls", "<html>&amp;</html>", strings.Repeat("ß", 300),
}

// oddRecord is a record whose fields hold every odd text, under odd keys too, nested as well.
func oddRecord(id string, stamp time.Time) connectors.Record {
	f := map[string]any{"Name": id}
	for i, s := range oddTexts {
		f[fmt.Sprintf("f%02d", i)] = s
		f["key "+s] = float64(i)
	}
	f["Nested"] = map[string]any{"list": []any{oddTexts[0], oddTexts[4], 1.5, true, nil}, "deep": map[string]any{"x": oddTexts[12]}}
	return connectors.Record{Object: connectors.ObjectDeal, ID: id, ModifiedAt: stamp, Fields: f}
}

// Records and roles whose ids, fields and role names hold COPY's special characters and Unicode
// come back exactly as they went in, and re-reading them changes nothing (the hash is stable).
func TestCopyOddText(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
		var recs []connectors.Record
		roles := map[string][]connectors.DealContact{}
		for i, txt := range oddTexts {
			id := fmt.Sprintf("006-%02d-%s", i, txt)
			recs = append(recs, oddRecord(id, t0.Add(time.Duration(i)*time.Second)))
			roles[id] = []connectors.DealContact{{DealID: id, ContactID: "003\t" + txt, Role: txt, Primary: i%2 == 0}}
		}
		page := store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Records: recs, Roles: roles,
			Cursor: &connectors.Cursor{Stamp: t0, ID: "006\t\\N", Extra: map[string]string{"after": "a\tb\nc\\d"}}}
		st, err := s.ApplyPullPage(ctx, page)
		if err != nil {
			t.Fatal(err)
		}
		if st != (store.UpsertStats{Inserted: len(recs)}) {
			t.Fatalf("first apply: %+v, want %d inserted", st, len(recs))
		}
		for _, want := range recs {
			got, err := s.Record(ctx, c.ID, connectors.ObjectDeal, want.ID)
			if err != nil {
				t.Fatalf("record %q: %v", want.ID, err)
			}
			if !reflect.DeepEqual(got.Fields, want.Fields) || !got.ModifiedAt.Equal(want.ModifiedAt) {
				t.Errorf("record %q: got %v at %s, want %v at %s", want.ID, got.Fields, got.ModifiedAt, want.Fields, want.ModifiedAt)
			}
			dc, err := s.DealContacts(ctx, c.ID, want.ID)
			wantRoles := roles[want.ID]
			if err != nil || len(dc) != 1 || dc[0] != wantRoles[0] {
				t.Errorf("roles of %q: got %+v, %v; want %+v", want.ID, dc, err, wantRoles)
			}
		}
		if cur, err := s.Cursor(ctx, c.ID, connectors.ObjectDeal); err != nil || !reflect.DeepEqual(cur.Extra, page.Cursor.Extra) || cur.ID != page.Cursor.ID {
			t.Errorf("cursor: got %+v, %v; want %+v", cur, err, page.Cursor)
		}
		if st, err := s.ApplyPullPage(ctx, page); err != nil || st != (store.UpsertStats{Unchanged: len(recs)}) {
			t.Fatalf("re-apply: %+v, %v; want %d unchanged", st, err, len(recs))
		}
	})
}

// A field of several megabytes (many times the COPY buffer) and a page of thousands of records
// with large documents are stored whole.
func TestCopyHugeJSON(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
		huge := strings.Repeat("0123456789abcdef\t\\\n\"é", 150_000) // 3.3 MB of text, every character escaped somewhere
		recs := []connectors.Record{{Object: connectors.ObjectDeal, ID: "006HUGE", ModifiedAt: t0, Fields: map[string]any{"Description": huge}}}
		for i := range 3000 {
			recs = append(recs, connectors.Record{Object: connectors.ObjectDeal, ID: fmt.Sprintf("006%06d", i), ModifiedAt: t0,
				Fields: map[string]any{"Name": fmt.Sprintf("Deal %d", i), "Notes": strings.Repeat("n", 2000+i)}})
		}
		st, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Records: recs})
		if err != nil || st.Inserted != len(recs) {
			t.Fatalf("apply: %+v, %v; want %d inserted", st, err, len(recs))
		}
		got, err := s.Record(ctx, c.ID, connectors.ObjectDeal, "006HUGE")
		if err != nil || got.Fields["Description"] != huge {
			t.Fatalf("huge record: %v (description of %d bytes, want %d)", err, len(fmt.Sprint(got.Fields["Description"])), len(huge))
		}
		last, err := s.Record(ctx, c.ID, connectors.ObjectDeal, "006002999")
		if err != nil || last.Fields["Notes"] != strings.Repeat("n", 4999) {
			t.Fatalf("last record: %v, %v", last, err)
		}
		if n, _ := s.RecordCounts(ctx, c.ID); n[connectors.ObjectDeal] != len(recs) {
			t.Fatalf("stored %d deals, want %d", n[connectors.ObjectDeal], len(recs))
		}
	})
}

// A page that names a record several times stores its newest version once and counts the others
// as unchanged, whichever order they come in; a role named twice is stored once. (PostgreSQL's
// merge would refuse to touch one row twice in a statement.)
func TestCopyDuplicatesWithinAPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
		champion := connectors.DealContact{DealID: "006A", ContactID: "003A", Role: "Champion", Primary: true}
		st, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Seen: true, Reconcile: true,
			Records: []connectors.Record{
				deal("006A", t0.Add(time.Minute), "middle"), deal("006A", t0.Add(2*time.Minute), "newest"), deal("006A", t0, "oldest"),
				deal("006B", t0, "b"), deal("006B", t0, "b"),
			},
			Roles: map[string][]connectors.DealContact{"006A": {champion, champion, {DealID: "006A", ContactID: "003A", Role: "Decision Maker"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if st != (store.UpsertStats{Inserted: 2, Unchanged: 3}) {
			t.Fatalf("stats: %+v, want 2 inserted, 3 unchanged", st)
		}
		if r, _ := s.Record(ctx, c.ID, connectors.ObjectDeal, "006A"); r == nil || r.Fields["Name"] != "newest" || !r.ModifiedAt.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("006A: got %+v, want the newest version", r)
		}
		if roles, _ := s.DealContacts(ctx, c.ID, "006A"); len(roles) != 2 {
			t.Fatalf("roles: got %+v, want Champion and Decision Maker once each", roles)
		}
	})
}

// A page applied again after a crash (its commit's reply lost, so the pull repeats it) changes
// nothing; a page whose transaction failed in the middle leaves nothing staged behind: the next
// page on the same database session stores exactly its own rows.
func TestCopyPageReappliedAfterACrash(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := t.Context()
		s.DB().SetMaxOpenConns(1) // every page on one session: the staging tables are shared
		c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
		cur := connectors.Cursor{Stamp: t0.Add(time.Minute), ID: "006B"}
		page := store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Records: []connectors.Record{deal("006A", t0, "a"), deal("006B", t0.Add(time.Minute), "b")},
			Roles: map[string][]connectors.DealContact{"006A": {{DealID: "006A", ContactID: "003A", Role: "Champion"}}}, Cursor: &cur}
		if st, err := s.ApplyPullPage(ctx, page); err != nil || st.Inserted != 2 {
			t.Fatalf("first apply: %+v, %v", st, err)
		}
		for range 2 {
			if st, err := s.ApplyPullPage(ctx, page); err != nil || st != (store.UpsertStats{Unchanged: 2}) {
				t.Fatalf("re-apply: %+v, %v; want 2 unchanged", st, err)
			}
		}
		if roles, _ := s.DealContacts(ctx, c.ID, "006A"); len(roles) != 1 {
			t.Fatalf("roles after re-applies: %+v, want one", roles)
		}

		// A page that fails after its rows were staged (the merge refuses an unknown connection
		// id) rolls back, staged rows included.
		bad := store.PullPage{ConnectionID: c.ID + 1000, Object: connectors.ObjectDeal, Records: []connectors.Record{deal("006X", t0, "x")},
			Roles: map[string][]connectors.DealContact{"006X": {{DealID: "006X", ContactID: "003X", Role: "Champion"}}}}
		if _, err := s.ApplyPullPage(ctx, bad); err == nil {
			t.Fatal("page of an unknown connection: got nil error")
		}
		next := store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Records: []connectors.Record{deal("006C", t0, "c")},
			Roles: map[string][]connectors.DealContact{"006C": {{DealID: "006C", ContactID: "003C", Role: "Champion"}}}}
		if st, err := s.ApplyPullPage(ctx, next); err != nil || st != (store.UpsertStats{Inserted: 1}) {
			t.Fatalf("page after a failed one: %+v, %v; want 1 inserted", st, err)
		}
		var n int
		if err := s.DB().GetContext(ctx, &n, `SELECT COUNT(*) FROM crm_records WHERE crm_id = '006X'`); err != nil || n != 0 {
			t.Fatalf("rows of the failed page: %d, %v; want none", n, err)
		}
		if roles, _ := s.DealContacts(ctx, c.ID, "006X"); len(roles) != 0 {
			t.Fatalf("roles of the failed page: %+v", roles)
		}
		if counts, _ := s.RecordCounts(ctx, c.ID); counts[connectors.ObjectDeal] != 3 {
			t.Fatalf("live deals: %v, want 3", counts)
		}
	})
}

// PostgreSQL's jsonb holds no NUL character: a record whose field has one fails its page with
// plans.ErrInvalid (a clear error, nothing stored), and the session's next page is unaffected.
func TestCopyRefusesNUL(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.Postgres)
	ctx := t.Context()
	s.DB().SetMaxOpenConns(1)
	c, _ := s.EnsureConnection(ctx, "sf", "salesforce")
	_, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal,
		Records: []connectors.Record{deal("006A", t0, "ok"), deal("006B", t0, "nul\x00byte")}})
	if !errors.Is(err, plans.ErrInvalid) {
		t.Fatalf("page with a NUL: got %v, want plans.ErrInvalid", err)
	}
	if st, err := s.ApplyPullPage(ctx, store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal,
		Records: []connectors.Record{deal("006C", t0, "c")}}); err != nil || st != (store.UpsertStats{Inserted: 1}) {
		t.Fatalf("next page: %+v, %v", st, err)
	}
	if counts, _ := s.RecordCounts(ctx, c.ID); counts[connectors.ObjectDeal] != 1 {
		t.Fatalf("live deals: %v, want only 006C", counts)
	}
}

// cuttingProxy forwards TCP to PostgreSQL and, once armed, drops every connection after the
// client has sent limit more bytes: a database connection lost in the middle of a COPY stream.
type cuttingProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	armed  atomic.Int64 // bytes left before the cut; <= 0: not armed
	cuts   atomic.Int64
}

func newCuttingProxy(t *testing.T, target string) *cuttingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttingProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(c, d); c.Close() }()
			go p.upstream(c, d)
		}
	}()
	return p
}

func (p *cuttingProxy) upstream(c, d net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if left := p.armed.Load(); left > 0 && p.armed.Add(-int64(n)) <= 0 {
				p.cut()
				return
			}
			if _, werr := d.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			d.Close()
			return
		}
	}
}

func (p *cuttingProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.conns) > 0 {
		p.cuts.Add(1)
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// A connection dropped in the middle of a page's COPY stream fails the page with an error
// store.IsTransient recognises (so the pull repeats the page), commits nothing, and the page
// applied again is stored whole, once.
func TestCopyConnectionDroppedMidStream(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	u, err := url.Parse(storetest.NewSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCuttingProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	key, _ := secrets.ParseKey(storetest.Key)
	s, err := store.Open(ctx, u.String(), store.Options{Cipher: key, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := s.EnsureConnection(ctx, "sf", "salesforce")
	if err != nil {
		t.Fatal(err)
	}
	var recs []connectors.Record
	for i := range 2000 {
		recs = append(recs, connectors.Record{Object: connectors.ObjectDeal, ID: fmt.Sprintf("006%06d", i), ModifiedAt: t0,
			Fields: map[string]any{"Name": fmt.Sprintf("Deal %d", i), "Notes": strings.Repeat("x", 1000)}})
	}
	cur := connectors.Cursor{Stamp: t0, ID: "006001999"}
	page := store.PullPage{ConnectionID: c.ID, Object: connectors.ObjectDeal, Records: recs, Cursor: &cur}
	proxy.armed.Store(500 << 10) // the page's stream is about 2.2 MB: cut a quarter of the way in
	_, err = s.ApplyPullPage(ctx, page)
	if err == nil {
		t.Fatal("page through a cut connection: got nil error")
	}
	if proxy.cuts.Load() == 0 {
		t.Fatal("the proxy cut nothing: the test tested nothing")
	}
	if !store.IsTransient(err) {
		t.Fatalf("error of a dropped connection: %v (%T), want one store.IsTransient recognises", err, errors.Unwrap(err))
	}
	if counts, _ := s.RecordCounts(ctx, c.ID); counts[connectors.ObjectDeal] != 0 {
		t.Fatalf("a failed page committed %d records", counts[connectors.ObjectDeal])
	}
	if got, _ := s.Cursor(ctx, c.ID, connectors.ObjectDeal); !got.Stamp.IsZero() {
		t.Fatalf("a failed page moved the cursor to %+v", got)
	}
	st, err := s.ApplyPullPage(ctx, page)
	if err != nil || st != (store.UpsertStats{Inserted: len(recs)}) {
		t.Fatalf("page applied again: %+v, %v; want %d inserted", st, err, len(recs))
	}
	if counts, _ := s.RecordCounts(ctx, c.ID); counts[connectors.ObjectDeal] != len(recs) {
		t.Fatalf("stored %d records, want %d", counts[connectors.ObjectDeal], len(recs))
	}
}

// FuzzAppendJSON holds the pull's JSON encoder to encoding/json's Marshal byte for byte (the
// stored documents and their hashes must not change): on any JSON document decoded as a pull
// decodes it, on raw strings (invalid UTF-8 included) as values and keys, and on any float64.
func FuzzAppendJSON(f *testing.F) {
	f.Add([]byte(`{"Name":"Acme <Corp> & Sons","Amount":1250000.5,"IsClosed":false,"Owner":null,"Tags":["a","b"],"Nested":{"z":1,"a":[1e21,1e-7,-0.0,5e-324]}}`), "tab\there \u2028 \xff\xfe é 🧭", 1.0)
	f.Add([]byte(`[]`), "", 1e21)
	f.Add([]byte(`{"":{"":[]},"\u0000":"\b\f\n\r\t\u007f"}`), "\x00\x1f<>&\"\\", 1e-7)
	f.Add([]byte(`123456789012345678901234567890`), "\u2029", math.Inf(1))
	f.Add([]byte(`{"a":1.7976931348623157e308,"b":-1e-6,"c":0.000001,"d":100000000000000000000}`), "ok", math.NaN())
	f.Fuzz(func(t *testing.T, doc []byte, s string, x float64) {
		check := func(what string, v any) {
			want, wantErr := json.Marshal(v)
			got, gotErr := store.AppendJSON([]byte("prefix"), v)
			if (wantErr != nil) != (gotErr != nil) {
				t.Fatalf("%s %#v: Marshal error %v, AppendJSON error %v", what, v, wantErr, gotErr)
			}
			if wantErr == nil && string(got) != "prefix"+string(want) {
				t.Fatalf("%s %#v:\nMarshal    %s\nAppendJSON %s", what, v, want, got[len("prefix"):])
			}
		}
		var v any
		if json.Unmarshal(doc, &v) == nil {
			check("document", v)
		}
		check("string", map[string]any{"s": s, s: []any{s, nil, true, false}, "n": map[string]any{s: x}})
		check("float", x)
		check("other types", map[string]any{"int": len(s), "bytes": []byte(s), "strings": []string{s}, "nil map": map[string]any(nil), "nil list": []any(nil)})
	})
}
