package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mapsync/mapsync/plans"
	"github.com/mapsync/mapsync/store"
)

// maxFormBytes bounds the body of a form post (a template upload included).
const maxFormBytes = 2 << 20

// SessionCookie is the name of the session cookie. Its value is the session id; the store
// keeps only its SHA-256.
const SessionCookie = "mapsync_session"

// csrfField is the form field (and csrfHeader the header, for scripts) carrying the session's
// CSRF token.
const (
	csrfField  = "csrf_token"
	csrfHeader = "X-CSRF-Token"
)

// Session is the signed-in browser of a request: who it acts as, and for how long.
type Session struct {
	store.WebSession
	// Actor is who changes made in this session are recorded as.
	Actor plans.Actor
	// CSRF is the token every form of the session carries (field csrf_token).
	CSRF string
	id   string
}

// Admin reports whether the session may use the console: signed in with an API token, on the
// seller side, not limited to one plan.
func (s *Session) Admin() bool {
	return s != nil && s.Kind == store.WebSessionToken && s.Side == string(plans.SideSeller) && s.PlanID == ""
}

type sessionKey struct{}

// SessionFrom returns the request's session, or nil when it has none.
func SessionFrom(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// csrfToken derives the session's CSRF token from its id: only a holder of the cookie can
// know it, and nothing more has to be stored.
func csrfToken(id string) string {
	sum := sha256.Sum256([]byte("mapsync csrf\x00" + id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// session reads the request's session from its cookie; nil when there is none or it is no
// longer valid (expired, signed out, its token revoked).
func (h *Handler) session(r *http.Request) (*Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	ws, err := h.store.WebSession(r.Context(), c.Value, h.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &Session{WebSession: *ws, CSRF: csrfToken(c.Value), id: c.Value,
		Actor: plans.Actor{ID: ws.ActorID, Name: ws.ActorName, Side: plans.Side(ws.Side)}}
	return s, nil
}

// StartSession stores ws (its CreatedAt and ExpiresAt default to now and now+SessionTTL) and
// sets the session cookie on w. Room pages call it when an invitation link is opened.
func (h *Handler) StartSession(w http.ResponseWriter, r *http.Request, ws store.WebSession) error {
	now := h.now()
	if ws.CreatedAt.IsZero() {
		ws.CreatedAt = now
	}
	if ws.ExpiresAt.IsZero() {
		ws.ExpiresAt = now.Add(h.ttl)
	}
	id, err := h.store.CreateWebSession(r.Context(), ws)
	if err != nil {
		return err
	}
	http.SetCookie(w, h.cookie(r, SessionCookie, id, ws.ExpiresAt))
	return nil
}

// cookie returns a cookie of this site: HttpOnly, SameSite=Lax, Secure behind TLS or an
// https public URL.
func (h *Handler) cookie(r *http.Request, name, value string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: h.secure || r.TLS != nil}
	if value == "" {
		c.MaxAge = -1
	} else if !expires.IsZero() {
		c.Expires = expires.UTC()
		c.MaxAge = max(1, int(expires.Sub(h.now()).Seconds()))
	}
	return c
}

// pageFunc is a page handler of a signed-in session; it returns an error for renderError
// rather than writing one itself.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *Session) error

// page wraps h so it runs only for an admin session (API token sign-in): without one, a GET is
// redirected to the sign-in page (coming back afterwards) and anything else is a 401. Writes
// (anything but GET and HEAD) must carry the session's CSRF token.
func (h *Handler) page(fn pageFunc) http.Handler { return h.authed(fn, (*Session).Admin) }

// authed is page with the rule a session must meet (room pages: any session that may open the
// plan, see RoomAllowed in web/room*.go).
func (h *Handler) authed(fn pageFunc, allowed func(*Session) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.session(r)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if s == nil || !allowed(s) {
			if s == nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			if s == nil {
				h.renderError(w, r, http.StatusUnauthorized, "Your session has ended. Sign in again.")
				return
			}
			h.renderError(w, r, http.StatusForbidden, "This page is not open to you.")
			return
		}
		if info := infoFrom(r.Context()); info != nil {
			info.actor = s.Actor.ID
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !validCSRF(r, s) {
			h.renderError(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Go back, reload the page and try again.")
			return
		}
		if err := fn(w, r, s); err != nil {
			h.fail(w, r, err)
		}
	})
}

// validCSRF reports whether r carries s's CSRF token, in the form field or the header.
func validCSRF(r *http.Request, s *Session) bool {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) == 1
}

// crossOrigin is Go's CSRF protection by Fetch metadata (Sec-Fetch-Site, else Origin against
// Host): a browser's cross-origin POST is refused before any handler runs, the sign-in form
// included (no login CSRF). The per-session token (validCSRF) covers browsers that send
// neither header.
func crossOrigin() *http.CrossOriginProtection {
	return http.NewCrossOriginProtection()
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if s, err := h.session(r); err == nil && s.Admin() {
		http.Redirect(w, r, cmpOr(next, "/console/"), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "signin", &Page{Title: "Sign in", Data: signInData{Next: next}})
}

type signInData struct {
	Next  string
	Error string
}

// signIn exchanges an API token for a session cookie.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := cmpOr(localPath(r.PostFormValue("next")), "/console/")
	d := signInData{Next: next}
	if token == "" {
		h.metrics.signins.WithLabelValues("empty").Inc()
		d.Error = "Enter an API token (mapsync tokens create NAME prints one)."
		h.render(w, r, http.StatusBadRequest, "signin", &Page{Title: "Sign in", Data: d})
		return
	}
	name, err := h.store.VerifyAPIToken(r.Context(), token)
	if errors.Is(err, store.ErrNotFound) {
		h.metrics.signins.WithLabelValues("bad_token").Inc()
		d.Error = "This token is not valid: it is mistyped or revoked. Create one with mapsync tokens create NAME."
		h.render(w, r, http.StatusUnauthorized, "signin", &Page{Title: "Sign in", Data: d})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	err = h.StartSession(w, r, store.WebSession{Kind: store.WebSessionToken, TokenName: name,
		ActorID: "token:" + name, ActorName: name, Side: string(plans.SideSeller)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.metrics.signins.WithLabelValues("ok").Inc()
	h.log.Info().Str("token", name).Msg("web sign in")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, s *Session) error {
	if err := h.store.DeleteWebSession(r.Context(), s.id); err != nil {
		return err
	}
	http.SetCookie(w, h.cookie(r, SessionCookie, "", time.Time{}))
	h.flash(w, r, "ok", "You are signed out.")
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
