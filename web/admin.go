package web

import (
	"context"
	"time"

	"github.com/mapsync/mapsync/mapping"
	"github.com/mapsync/mapsync/store"
	"github.com/mapsync/mapsync/sync/push"
)

// Pushes answers the Mappings and Push pages; cmd implements it with the calls `mapsync
// mappings` and `mapsync push` make (cmd/mapsync/web_wiring.go). An unknown connection is a
// *plans.NotFoundError of kind "connection".
type Pushes interface {
	// Mappings returns the push mapping of every connection that has one, by connection name.
	Mappings(ctx context.Context) ([]MappingView, error)
	// CheckMapping checks a connection's mapping against the CRM's live field metadata (and its
	// plan references against the imported templates), as `mapping validate --refresh` does, and
	// returns every problem and when the metadata was read.
	CheckMapping(ctx context.Context, connection string) (mapping.Problems, time.Time, error)
	// PreviewMapping evaluates a connection's mapping for one pulled deal, as `mappings preview`
	// does.
	PreviewMapping(ctx context.Context, connection, dealID string) (*MappingPreview, error)
	// DryRun evaluates what a push of the connection would write now, sending nothing.
	DryRun(ctx context.Context, connection string) (push.Summary, error)
	// DeadLetters returns the push dead letters of a connection ("" for all), newest first.
	DeadLetters(ctx context.Context, connection string) ([]store.DeadLetter, error)
	// RetryDeadLetters makes the given dead-lettered deals (all of the connection's when
	// dealIDs is empty) pending again, as `push dead-letters retry` does, and pushes them: now,
	// or through the push jobs of a running daemon (Queued).
	RetryDeadLetters(ctx context.Context, connection string, dealIDs []string) (Retry, error)
	// PushLog returns what was pushed to one deal, newest first.
	PushLog(ctx context.Context, connection, dealID string, limit int) ([]store.PushLogEntry, error)
}

// MappingView is a connection's push mapping as the Mappings page shows it.
type MappingView struct {
	Connection string
	When       string
	Conflict   string
	Fields     []mapping.FieldSpec
}

// MappingPreview is a mapping evaluated for one deal.
type MappingPreview struct {
	Connection, DealID string
	// Plans are the deal's plans by template key ("main" marks the one fields read by default).
	Plans  []string
	Fields []PreviewField
}

// PreviewField is one field of a preview: expression, computed value, the CRM's value, and
// whether a push would write it or why not.
type PreviewField struct {
	Field, Expression, Plan, Policy string
	Value, CRM                      any
	Write                           bool
	Reason, Error                   string
}

// Retry is what retrying dead letters did.
type Retry struct {
	// Retried counts the dead letters made pending again.
	Retried int
	// Queued is true when their push was left to the daemon's push jobs (within the push
	// window); Pushed is then empty.
	Queued bool
	// Pushed are the summaries of the pushes made at once, per connection.
	Pushed []push.Summary
}
