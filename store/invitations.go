package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/mapsync/mapsync/plans"
)

// Buyer invitations: a link that lets one buyer-side member of one plan into the plan's room,
// acting as that member. The link carries a random token; the database keeps only its SHA-256.
// Joining through a link makes a web session (web/) that is valid while the invitation is
// active: it ends when the invitation expires or is revoked.

// InvitationTokenPrefix starts every invitation token ("msi_"), so a leaked link is easy to
// recognise.
const InvitationTokenPrefix = "msi_"

// DefaultInvitationTTL is how long an invitation link works when the caller gives no TTL.
const DefaultInvitationTTL = 14 * 24 * time.Hour

// MaxInvitationTTL caps an invitation's life.
const MaxInvitationTTL = 90 * 24 * time.Hour

// The plan events of invitations. invitation.created and invitation.revoked are internal (seller
// side only); member.joined is seen by both sides.
const (
	EventInvitationCreated plans.EventType = "invitation.created"
	EventInvitationRevoked plans.EventType = "invitation.revoked"
	EventMemberJoined      plans.EventType = "member.joined"
)

// ErrInvitationExpired and ErrInvitationRevoked are the errors (wrapped) of a link that was
// valid once: the web answers 410 Gone. An unknown token matches ErrNotFound.
var (
	ErrInvitationExpired = errors.New("invitation expired")
	ErrInvitationRevoked = errors.New("invitation revoked")
)

// InvitationState is an invitation's state at a given time.
type InvitationState string

// The invitation states.
const (
	InvitationActive  InvitationState = "active"
	InvitationExpired InvitationState = "expired"
	InvitationRevoked InvitationState = "revoked"
)

// Invitation is a stored invitation, without its token (only its SHA-256 is kept).
type Invitation struct {
	// ID is the invitation's id.
	ID string `json:"id"`
	// PlanID is the plan the link opens.
	PlanID string `json:"plan_id"`
	// MemberID is the plan member the buyer acts as.
	MemberID string `json:"member_id"`
	// Email, Name and Role are the member's when invited.
	Email string `json:"email"`
	// Name is the member's name.
	Name string `json:"name"`
	// Role is the member's role key.
	Role string `json:"role"`
	// CreatedBy is who made the invitation.
	CreatedBy plans.Actor `json:"created_by"`
	// CreatedAt is when.
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the link stops working (and every session made through it ends).
	ExpiresAt time.Time `json:"expires_at"`
	// RevokedAt is when the invitation was revoked; nil while it is not.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// UseCount counts joins through the link.
	UseCount int `json:"use_count"`
	// LastUsedAt is when the link was last used to join; nil if never.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// State is active, expired or revoked at the time the invitation was read.
	State InvitationState `json:"state"`
}

// StateAt returns the invitation's state at now.
func (inv Invitation) StateAt(now time.Time) InvitationState {
	switch {
	case inv.RevokedAt != nil:
		return InvitationRevoked
	case !now.Before(inv.ExpiresAt):
		return InvitationExpired
	}
	return InvitationActive
}

// usable returns nil for an active invitation, else an error matching ErrInvitationRevoked or
// ErrInvitationExpired.
func (inv Invitation) usable(now time.Time) error {
	switch inv.StateAt(now) {
	case InvitationRevoked:
		return fmt.Errorf("%w on %s", ErrInvitationRevoked, inv.RevokedAt.UTC().Format(time.DateOnly))
	case InvitationExpired:
		return fmt.Errorf("%w on %s", ErrInvitationExpired, inv.ExpiresAt.UTC().Format(time.DateOnly))
	}
	return nil
}

// NewInvitation is what CreateInvitation needs.
type NewInvitation struct {
	// PlanID is the plan. Required.
	PlanID string
	// Member is the buyer-side member the link is for. Its ID is required.
	Member plans.Member
	// By is who invites.
	By plans.Actor
	// TTL is how long the link works: 0 means DefaultInvitationTTL; at most MaxInvitationTTL.
	TTL time.Duration
}

type invitationRow struct {
	ID         string     `db:"id"`
	PlanID     string     `db:"plan_id"`
	MemberID   string     `db:"member_id"`
	Email      string     `db:"email"`
	Name       string     `db:"name"`
	Role       string     `db:"role"`
	CreatedBy  string     `db:"created_by"`
	CreatedAt  time.Time  `db:"created_at"`
	ExpiresAt  time.Time  `db:"expires_at"`
	RevokedAt  *time.Time `db:"revoked_at"`
	UseCount   int        `db:"use_count"`
	LastUsedAt *time.Time `db:"last_used_at"`
}

const invitationColumns = `id, plan_id, member_id, email, name, role, created_by, created_at, expires_at, revoked_at, use_count, last_used_at`

func (r invitationRow) invitation(now time.Time) Invitation {
	inv := Invitation{
		ID: r.ID, PlanID: r.PlanID, MemberID: r.MemberID, Email: r.Email, Name: r.Name, Role: r.Role,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), RevokedAt: utcPtr(r.RevokedAt),
		UseCount: r.UseCount, LastUsedAt: utcPtr(r.LastUsedAt),
	}
	_ = json.Unmarshal([]byte(r.CreatedBy), &inv.CreatedBy) // written by us; a bad row shows no author
	inv.State = inv.StateAt(now)
	return inv
}

// newSecret returns prefix and 32 random bytes in unpadded base64url.
func newSecret(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func hashSecret(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// CreateInvitation stores an invitation for n.Member to plan n.PlanID and returns it with its
// token, which is not stored and cannot be shown again. It records the internal event
// invitation.created on the plan in the same transaction. The member must be on the buyer side
// (a seller signs in instead); an unknown plan matches ErrNotFound. The member's presence in the
// plan is the caller's to check (it holds the plan).
func (s *Store) CreateInvitation(ctx context.Context, n NewInvitation) (Invitation, string, error) {
	ttl := n.TTL
	switch {
	case ttl == 0:
		ttl = DefaultInvitationTTL
	case ttl < time.Minute || ttl > MaxInvitationTTL:
		return Invitation{}, "", &plans.InputError{Field: "expires_in_days", Message: fmt.Sprintf("want a life between 1 minute and %d days, got %s", int(MaxInvitationTTL.Hours()/24), ttl)}
	}
	m := n.Member
	if m.ID == "" {
		return Invitation{}, "", &plans.InputError{Field: "member_id", Message: "required"}
	}
	if m.Side != plans.SideBuyer {
		return Invitation{}, "", &plans.InputError{Field: "role", Message: fmt.Sprintf("invitation links are for buyer-side members; %s is on the %s side (sellers sign in to the console)", m.Role, m.Side)}
	}
	token, err := newSecret(InvitationTokenPrefix)
	if err != nil {
		return Invitation{}, "", fmt.Errorf("create invitation: %w", err)
	}
	by, err := json.Marshal(n.By)
	if err != nil {
		return Invitation{}, "", fmt.Errorf("create invitation: %w", err)
	}
	now := s.Now()
	row := invitationRow{
		ID: plans.NewID(), PlanID: n.PlanID, MemberID: m.ID, Email: m.Email, Name: m.Name, Role: m.Role,
		CreatedBy: string(by), CreatedAt: now, ExpiresAt: now.Add(ttl),
	}
	ev := plans.Event{
		PlanID: n.PlanID, Type: EventInvitationCreated, Level: plans.LevelInfo, Actor: n.By, At: now, Internal: true,
		After: map[string]any{"invitation_id": row.ID, "member_id": m.ID, "email": m.Email, "role": m.Role, "expires_at": row.ExpiresAt},
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockPlan(ctx, tx, n.PlanID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`
			INSERT INTO plan_invitations (id, plan_id, member_id, email, name, role, token_hash, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			row.ID, row.PlanID, row.MemberID, row.Email, row.Name, row.Role, hashSecret(token), row.CreatedBy, row.CreatedAt, row.ExpiresAt)
		if err != nil {
			return interpretError(err)
		}
		return s.insertEvents(ctx, tx, []plans.Event{ev})
	})
	if err != nil {
		return Invitation{}, "", fmt.Errorf("create invitation to plan %s: %w", n.PlanID, err)
	}
	return row.invitation(now), token, nil
}

// Invitations returns every invitation of plan planID, oldest first, with its state now.
func (s *Store) Invitations(ctx context.Context, planID string) ([]Invitation, error) {
	var rows []invitationRow
	err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT `+invitationColumns+` FROM plan_invitations WHERE plan_id = ? ORDER BY created_at, id`), planID)
	if err != nil {
		return nil, fmt.Errorf("list invitations of plan %s: %w", planID, interpretError(err))
	}
	now := s.Now()
	out := make([]Invitation, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.invitation(now))
	}
	return out, nil
}

// RevokeInvitation revokes invitation id of plan planID as by: the link stops working, and so
// does every session made through it (they check the invitation on each request). It records the internal event invitation.revoked.
// Revoking a revoked invitation changes nothing and returns it; an id that is not an invitation
// of the plan matches ErrNotFound.
func (s *Store) RevokeInvitation(ctx context.Context, planID, id string, by plans.Actor) (Invitation, error) {
	var out Invitation
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.lockPlan(ctx, tx, planID); err != nil {
			return err
		}
		var r invitationRow
		err := tx.GetContext(ctx, &r, tx.Rebind(`SELECT `+invitationColumns+` FROM plan_invitations WHERE plan_id = ? AND id = ?`), planID, id)
		if err != nil {
			return interpretError(err)
		}
		now := s.Now()
		if r.RevokedAt != nil {
			out = r.invitation(now)
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE plan_invitations SET revoked_at = ? WHERE id = ?`), now, id); err != nil {
			return interpretError(err)
		}
		r.RevokedAt = &now
		out = r.invitation(now)
		return s.insertEvents(ctx, tx, []plans.Event{{
			PlanID: planID, Type: EventInvitationRevoked, Level: plans.LevelInfo, Actor: by, At: now, Internal: true,
			Before: map[string]any{"invitation_id": id, "member_id": r.MemberID, "email": r.Email},
		}})
	})
	if errors.Is(err, ErrNotFound) {
		return Invitation{}, fmt.Errorf("revoke invitation %s of plan %s: %w", id, planID, ErrNotFound)
	}
	if err != nil {
		return Invitation{}, fmt.Errorf("revoke invitation %s of plan %s: %w", id, planID, err)
	}
	return out, nil
}

// invitationByToken finds the invitation of token, in any state.
func (s *Store) invitationByToken(ctx context.Context, q sqlx.QueryerContext, token string) (invitationRow, error) {
	var r invitationRow
	if !strings.HasPrefix(token, InvitationTokenPrefix) {
		return r, fmt.Errorf("unknown invitation link: %w", ErrNotFound)
	}
	err := sqlx.GetContext(ctx, q, &r, s.rebind(`SELECT `+invitationColumns+` FROM plan_invitations WHERE token_hash = ?`), hashSecret(token))
	if err = interpretError(err); errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("unknown invitation link: %w", ErrNotFound)
	}
	return r, err
}

// OpenInvitation returns the invitation of token without using it (the Join Room page shows whom
// it is for). An unknown token matches ErrNotFound; a revoked or expired one returns the
// invitation with an error matching ErrInvitationRevoked or ErrInvitationExpired. Errors never
// contain the token.
func (s *Store) OpenInvitation(ctx context.Context, token string) (Invitation, error) {
	r, err := s.invitationByToken(ctx, s.db, token)
	if err != nil {
		return Invitation{}, fmt.Errorf("open invitation: %w", err)
	}
	now := s.Now()
	inv := r.invitation(now)
	if err := inv.usable(now); err != nil {
		return inv, fmt.Errorf("open invitation %s: %w", inv.ID, err)
	}
	return inv, nil
}

// Invitation returns invitation id, in any state (a buyer's web session names it: the session is
// valid while the invitation is active). An unknown id matches ErrNotFound.
func (s *Store) Invitation(ctx context.Context, id string) (Invitation, error) {
	var r invitationRow
	err := s.db.GetContext(ctx, &r, s.rebind(`SELECT `+invitationColumns+` FROM plan_invitations WHERE id = ?`), id)
	if err = interpretError(err); errors.Is(err, ErrNotFound) {
		return Invitation{}, fmt.Errorf("invitation %s: %w", id, ErrNotFound)
	} else if err != nil {
		return Invitation{}, fmt.Errorf("invitation %s: %w", id, err)
	}
	return r.invitation(s.Now()), nil
}

// JoinInvitation uses the invitation of token: it counts the use and records member.joined on
// the plan as actor (the member as the plan knows them now: the caller checks they are still on
// it), in one transaction, and returns the invitation. The browser's session is the caller's
// to make (web: a web session of kind invitation, ended by the invitation's expiry or
// revocation). Errors are OpenInvitation's.
func (s *Store) JoinInvitation(ctx context.Context, token string, actor plans.Actor) (Invitation, error) {
	var inv Invitation
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		r, err := s.invitationByToken(ctx, tx, token)
		if err != nil {
			return err
		}
		now := s.Now()
		inv = r.invitation(now)
		if err := inv.usable(now); err != nil {
			return fmt.Errorf("invitation %s: %w", inv.ID, err)
		}
		if err := s.lockPlan(ctx, tx, r.PlanID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`
			UPDATE plan_invitations SET use_count = use_count + 1, last_used_at = ? WHERE id = ? AND revoked_at IS NULL`), now, r.ID)
		if err != nil {
			return interpretError(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("invitation %s: %w", inv.ID, ErrInvitationRevoked) // revoked since read
		}
		inv.UseCount++
		inv.LastUsedAt = &now
		return s.insertEvents(ctx, tx, []plans.Event{{
			PlanID: r.PlanID, Type: EventMemberJoined, Level: plans.LevelInfo, Actor: actor, At: now,
			After: map[string]any{"member_id": r.MemberID, "invitation_id": r.ID},
		}})
	})
	if err != nil {
		return inv, fmt.Errorf("join invitation: %w", err)
	}
	return inv, nil
}
