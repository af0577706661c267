package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/mapsync/mapsync/plans"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Page is what every template gets: the layout reads Title, Nav, Session and Flashes; the
// page's own template reads Data.
type Page struct {
	// Title is the page's title (the <title> and its heading).
	Title string
	// Nav is the console section to mark current in the navigation ("connections", "deals",
	// ...); "" for none.
	Nav string
	// Session is the signed-in session (nil on the sign-in page); render fills it.
	Session *Session
	// Flashes are the messages left by the previous request (render fills them).
	Flashes []Flash
	// Data is the page's own content.
	Data any
}

// Flash is a message shown once, on the page after a redirect.
type Flash struct {
	// Kind is ok or error.
	Kind string `json:"k"`
	// Text is the message, shown as text.
	Text string `json:"t"`
}

const flashCookie = "mapsync_flash"

// pages holds one template set per page: the layout and partials, and the page's file.
type pages struct {
	sets   map[string]*template.Template
	assets map[string]string // file name -> ?v= content hash
}

// layoutFiles are the files every page set includes.
var layoutFiles = []string{"templates/layout.html"}

func loadPages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}, assets: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		p.assets[strings.TrimPrefix(name, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	funcs := templateFuncs(p)
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		partials, err := fs.Glob(templateFS, "templates/_*.html")
		if err != nil {
			return nil, err
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, append(append(append([]string{}, layoutFiles...), partials...), f)...)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// render writes page with the template name (web/templates/NAME.html, in the layout) and
// status. It runs the template into a buffer first, so a template error is a clean 500, not
// half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, page *Page) {
	t, ok := h.pages.sets[name]
	if !ok {
		h.fail(w, r, fmt.Errorf("no template %q", name))
		return
	}
	if page.Session == nil {
		page.Session = SessionFrom(r.Context())
	}
	page.Flashes = append(h.takeFlashes(w, r), page.Flashes...)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", page); err != nil {
		h.fail(w, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// renderError shows msg on the error page with status.
func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "error", &Page{Title: http.StatusText(status), Data: msg})
}

// fail answers an error a handler returned: a *UserError is shown with its status; anything
// else is logged and shown as "internal error" with the request id, never its text.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ue *UserError
	if errors.As(err, &ue) {
		h.renderError(w, r, ue.Status, ue.Message)
		return
	}
	var nf *plans.NotFoundError
	if errors.As(err, &nf) || errors.Is(err, plans.ErrNotFound) {
		h.renderError(w, r, http.StatusNotFound, "Not found: "+err.Error())
		return
	}
	id := ""
	if info := infoFrom(r.Context()); info != nil {
		info.err = err
		id = info.id
	}
	if _, ok := h.pages.sets["error"]; !ok {
		http.Error(w, "internal error "+id, http.StatusInternalServerError)
		return
	}
	h.renderError(w, r, http.StatusInternalServerError, "Something went wrong on our side (request "+id+"). The details are in the server log.")
}

// UserError is an error a page shows as it is, with its HTTP status.
type UserError struct {
	Status  int
	Message string
}

func (e *UserError) Error() string { return e.Message }

// flash leaves a message for the next page this browser renders.
func (h *Handler) flash(w http.ResponseWriter, r *http.Request, kind, text string) {
	var fs []Flash
	if c, err := r.Cookie(flashCookie); err == nil {
		fs = decodeFlashes(c.Value)
	}
	fs = append(fs, Flash{Kind: kind, Text: text})
	b, _ := json.Marshal(fs)
	http.SetCookie(w, h.cookie(r, flashCookie, base64.RawURLEncoding.EncodeToString(b), time.Time{}))
}

// takeFlashes returns the messages left for this page and clears them.
func (h *Handler) takeFlashes(w http.ResponseWriter, r *http.Request) []Flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, h.cookie(r, flashCookie, "", time.Time{}))
	return decodeFlashes(c.Value)
}

func decodeFlashes(v string) []Flash {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil
	}
	var fs []Flash
	if json.Unmarshal(b, &fs) != nil || len(fs) > 10 {
		return nil
	}
	for i := range fs {
		if fs[i].Kind != "ok" {
			fs[i].Kind = "error"
		}
	}
	return fs
}

// redirectFlash leaves a flash and redirects to to (303, so a reload does not post again).
func (h *Handler) redirectFlash(w http.ResponseWriter, r *http.Request, to, kind, text string) {
	h.flash(w, r, kind, text)
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

func templateFuncs(p *pages) template.FuncMap {
	return template.FuncMap{
		// asset is the URL of an embedded static file, versioned by its content.
		"asset": func(name string) string { return "/static/" + name + "?v=" + p.assets[name] },
		// when formats a time in UTC ("-" for none).
		"when": func(v any) string {
			switch t := v.(type) {
			case time.Time:
				if t.IsZero() {
					return "-"
				}
				return t.UTC().Format("2006-01-02 15:04 UTC")
			case *time.Time:
				if t == nil || t.IsZero() {
					return "-"
				}
				return t.UTC().Format("2006-01-02 15:04 UTC")
			}
			return fmt.Sprint(v)
		},
		"seconds": func(s float64) string {
			if s < 0 {
				return "never"
			}
			return (time.Duration(s) * time.Second).String()
		},
		"duration": func(d time.Duration) string { return d.Round(time.Millisecond).String() },
		// query returns the current query with key set to value ("" removes it), for links
		// that change one filter or the page.
		"query": func(q url.Values, kv ...string) string {
			out := url.Values{}
			for k, v := range q {
				out[k] = append([]string(nil), v...)
			}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] == "" {
					out.Del(kv[i])
				} else {
					out.Set(kv[i], kv[i+1])
				}
			}
			return "?" + out.Encode()
		},
		// navItem is one link of the navigation, current when nav is its section.
		"navItem": func(nav, section, href, label string) map[string]any {
			return map[string]any{"Href": href, "Label": label, "Current": nav == section}
		},
		// field is a labelled text input or textarea with its problem (_fields.html).
		"field": func(name, label, value, problem string, multiline bool) map[string]any {
			return map[string]any{"Name": name, "Label": label, "Value": value, "Problem": problem, "Multiline": multiline}
		},
		"dueRule": dueRule,
		"money": func(f float64) string {
			s := fmt.Sprintf("%.0f", f)
			var b strings.Builder
			for i, c := range s {
				if i > 0 && (len(s)-i)%3 == 0 && c != '-' && s[i-1] != '-' {
					b.WriteByte(',')
				}
				b.WriteRune(c)
			}
			return b.String()
		},
	}
}

// requestInfo collects what the request log line says about a request.
type requestInfo struct {
	id    string
	actor string
	err   error
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	i, _ := ctx.Value(infoKey{}).(*requestInfo)
	return i
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe gives each request an id (X-Request-Id) and logs one line per request: request_id,
// method, path, status, took, actor, and the error of a 5xx.
func (h *Handler) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var b [8]byte
		_, _ = rand.Read(b[:])
		info := &requestInfo{id: hex.EncodeToString(b[:])}
		log := h.log.With().Str("request_id", info.id).Logger()
		r = r.WithContext(context.WithValue(log.WithContext(r.Context()), infoKey{}, info))
		w.Header().Set("X-Request-Id", info.id)
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		took := time.Since(start)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		h.metrics.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
		h.metrics.duration.WithLabelValues(route).Observe(took.Seconds())
		level := zerolog.InfoLevel
		switch {
		case status >= 500:
			level = zerolog.ErrorLevel
		case strings.HasPrefix(r.URL.Path, "/static/"):
			level = zerolog.DebugLevel
		}
		path := r.URL.Path
		if strings.HasPrefix(path, "/join/") {
			path = "/join/<token>" // an invitation link's token is a secret
		}
		ev := log.WithLevel(level).Str("method", r.Method).Str("path", path).Str("route", route).Int("status", status).Dur("took", took)
		if info.actor != "" {
			ev = ev.Str("actor", info.actor)
		}
		if info.err != nil {
			ev = ev.Err(info.err)
		}
		ev.Msg("web request")
	})
}
