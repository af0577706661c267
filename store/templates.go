package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/mapsync/mapsync/plans"
)

// importRetries bounds how often ImportTemplate retries after losing a race for a version
// number to another importer of the same key.
const importRetries = 5

// ImportTemplate validates t and stores it as version 1 of a new key, or as the next version of
// its key when its Hash differs from the latest version's; the same content as the latest
// version stores nothing and returns created false. t itself is not changed. Two importers
// racing for the same version number cannot both get it: the loser retries and then either
// finds its content stored (created false) or takes the next number. It implements
// plans.TemplateStore.
func (s *Store) ImportTemplate(ctx context.Context, t *plans.Template) (version int, created bool, err error) {
	if t == nil {
		return 0, false, fmt.Errorf("import template: %w", plans.ErrInvalid)
	}
	if err := t.Validate(); err != nil {
		return 0, false, fmt.Errorf("import template %s: %w", t.Key, err)
	}
	hash := t.Hash()
	for attempt := 0; ; attempt++ {
		version, created, err = s.importTemplate(ctx, t, hash)
		if err == nil || !errors.Is(err, ErrConflict) || attempt == importRetries {
			break
		}
	}
	if err != nil {
		return 0, false, fmt.Errorf("import template %s: %w", t.Key, err)
	}
	return version, created, nil
}

func (s *Store) importTemplate(ctx context.Context, t *plans.Template, hash string) (version int, created bool, err error) {
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		var latest struct {
			Version int    `db:"version"`
			Hash    string `db:"hash"`
		}
		err := tx.GetContext(ctx, &latest, tx.Rebind(`
			SELECT version, hash FROM templates WHERE key = ? ORDER BY version DESC LIMIT 1`), t.Key)
		switch err = interpretError(err); {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return fmt.Errorf("read latest version: %w", err)
		case latest.Hash == hash:
			version = latest.Version
			return nil
		}
		version, created = latest.Version+1, true
		// A racing importer that took this version first makes the insert fail with a unique
		// violation (ErrConflict), which the caller retries.
		if err := s.insertTemplate(ctx, tx, t, version, hash); err != nil {
			return fmt.Errorf("insert version %d: %w", version, err)
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return version, created, nil
}

// insertTemplate stores t, whose Hash is hash, as version of its key; t is not changed. A
// version the key has already is an error matching ErrConflict.
func (s *Store) insertTemplate(ctx context.Context, tx *sqlx.Tx, t *plans.Template, version int, hash string) error {
	c := *t
	c.Version = version
	body, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`
		INSERT INTO templates (key, version, name, hash, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		t.Key, version, columnText(t.Name), hash, string(body), s.Now())
	return interpretError(err)
}

// SaveTemplateFromPlan stores t as version 1 of a new template key and appends events (the
// plan.saved_as_template event) to plan planID, in one transaction: both or nothing. t is
// validated first and not changed. A key that has any version already is an error matching
// ErrConflict and plans.ErrConflict that writes nothing; of several callers racing for one new
// key exactly one stores it (the primary key (key, version) decides: on PostgreSQL the others
// wait for its commit and then fail). An unknown plan is an error matching ErrNotFound. Like
// AppendEvents it locks the plan's row, so the plan's events are numbered in commit order. It
// implements plans.PlanStore.
func (s *Store) SaveTemplateFromPlan(ctx context.Context, planID string, t *plans.Template, events []plans.Event) error {
	if t == nil {
		return fmt.Errorf("save plan %s as template: %w", planID, plans.ErrInvalid)
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("save plan %s as template %s: %w", planID, t.Key, err)
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockPlan(ctx, tx, planID); err != nil {
			return fmt.Errorf("plan %s: %w", planID, err)
		}
		// The check sees committed versions; the primary key refuses a racing transaction's
		// version 1, committed or not.
		var taken []int
		if err := tx.SelectContext(ctx, &taken, tx.Rebind(`SELECT 1 FROM templates WHERE key = ? LIMIT 1`), t.Key); err != nil {
			return fmt.Errorf("look up template %s: %w", t.Key, interpretError(err))
		}
		if len(taken) > 0 {
			return fmt.Errorf("template %s exists: %w", t.Key, ErrConflict)
		}
		if err := s.insertTemplate(ctx, tx, t, 1, t.Hash()); errors.Is(err, ErrConflict) {
			return fmt.Errorf("template %s exists: %w", t.Key, ErrConflict)
		} else if err != nil {
			return fmt.Errorf("insert template: %w", err)
		}
		return s.insertEvents(ctx, tx, withPlanID(events, planID))
	})
	if err != nil {
		return fmt.Errorf("save plan %s as template %s: %w", planID, t.Key, err)
	}
	return nil
}

// Template returns version of the template key, the latest when version is 0, or an error
// matching ErrNotFound and plans.ErrNotFound. It implements plans.TemplateStore.
func (s *Store) Template(ctx context.Context, key string, version int) (*plans.Template, error) {
	var (
		body []byte
		err  error
	)
	if version == 0 {
		err = s.db.GetContext(ctx, &body, s.rebind(`
			SELECT body FROM templates WHERE key = ? ORDER BY version DESC LIMIT 1`), key)
	} else {
		err = s.db.GetContext(ctx, &body, s.rebind(`
			SELECT body FROM templates WHERE key = ? AND version = ?`), key, version)
	}
	name := "template " + key // version 0 is "the latest", not a version to name
	if version != 0 {
		name += fmt.Sprintf(" version %d", version)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, interpretError(err))
	}
	t, err := decodeTemplate(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

// Templates returns the latest version of every template, ordered by key. It implements
// plans.TemplateStore.
func (s *Store) Templates(ctx context.Context) ([]*plans.Template, error) {
	var bodies [][]byte
	err := s.db.SelectContext(ctx, &bodies, `
		SELECT t.body FROM templates t
		WHERE t.version = (SELECT MAX(l.version) FROM templates l WHERE l.key = t.key)
		ORDER BY t.key`)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", interpretError(err))
	}
	out := make([]*plans.Template, 0, len(bodies))
	for _, b := range bodies {
		t, err := decodeTemplate(b)
		if err != nil {
			return nil, fmt.Errorf("list templates: %w", err)
		}
		out = append(out, t)
	}
	return out, nil
}

func decodeTemplate(body []byte) (*plans.Template, error) {
	t := &plans.Template{}
	if err := json.Unmarshal(body, t); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	return t, nil
}
