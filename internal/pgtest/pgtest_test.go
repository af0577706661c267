package pgtest_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/mapsync/mapsync/internal/pgtest"
	"github.com/mapsync/mapsync/store"
)

// TestRestartKeepsDataAndDropsConnections: the private server keeps committed rows across a
// restart on the same URL, and while it is down a query fails with an error store.IsTransient
// recognises (what the pull's retries and the API's 503 rely on).
func TestRestartKeepsDataAndDropsConnections(t *testing.T) {
	pg := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := sql.Open("postgres", pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	var v int
	err = db.QueryRowContext(ctx, "SELECT v FROM kept").Scan(&v)
	if err == nil || !store.IsTransient(err) {
		t.Fatalf("query while the server is down: got %v, want a transient error", err)
	}
	pg.Start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = db.QueryRowContext(ctx, "SELECT v FROM kept").Scan(&v)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || v != 42 {
		t.Fatalf("after the restart: got %d, %v; want 42", v, err)
	}
}
