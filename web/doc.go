// Package web is mapsync's web interface: the admin console (/console/) and, built on the same
// foundation, the plan room (/room/, /join/). Pages are rendered on the server from
// html/template; the stylesheet and the little JavaScript there is are embedded in the binary
// (static/), so no Node build step is needed to build or run mapsync. `mapsync serve` mounts
// the Handler next to the JSON API (Mount): the paths in Paths go to the pages, every other
// path to the API.
//
// # Sessions and sign-in
//
// Admins and sellers sign in at /signin with an API token (mapsync tokens create NAME): the
// token is verified as the API verifies it (store.VerifyAPIToken) and exchanged for a session
// whose random 32-byte id is the value of the mapsync_session cookie; the database keeps only
// its SHA-256 (table web_sessions, migration 00011). A session expires after
// Options.SessionTTL (12h) whatever the browser does, ends at /signout, and ends when its API
// token is revoked. Cookies are HttpOnly, SameSite=Lax, and Secure when the request came over
// TLS or Options.PublicURL is https.
//
// # CSRF
//
// Two layers. Every request passes Go's http.CrossOriginProtection, which refuses a browser's
// cross-origin write by its Fetch metadata (Sec-Fetch-Site, else Origin against Host), the
// sign-in form included (no login CSRF). And every write of a signed-in session (any method
// but GET and HEAD) must carry the session's token, derived from the session id: the form
// field csrf_token ({{.Session.CSRF}}) or, from scripts, the X-CSRF-Token header. The token
// covers browsers that send neither header.
//
// # Escaping
//
// Everything the CRM or a person typed reaches pages through html/template's contextual
// escaping; no handler turns such text into template.HTML, template.JS or template.URL. A
// Content-Security-Policy allows only the embedded scripts and styles (no inline script, no
// inline style attribute: use classes, <progress> or <meter>), so markup that slipped
// through could not run.
//
// # How room pages plug in
//
//   - Routes: web/room_routes.go holds roomRoutes(m), called by routes(); the room work
//     replaces its body and registers its patterns on m under /room/ and /join/ (already in
//     Paths, so Mount routes them here).
//   - Templates: add web/templates/room_NAME.html defining {{define "content"}}...{{end}}; it
//     is parsed with layout.html and every templates/_*.html partial, and rendered with
//     h.render(w, r, status, "room_NAME", &Page{Title: ..., Data: ...}). The layout shows the
//     console navigation only to admin sessions; a buyer sees the title, flashes and content.
//     Static files go in web/static/ (room.js, room.css) and are linked with {{asset "room.js"}}.
//   - Auth: h.page(fn) admits only admin sessions (API token sign-in); h.authed(fn, allowed)
//     admits any session for which allowed(s) is true, e.g. one whose PlanID is the plan in
//     the URL, or an admin. Both redirect a GET without a session to /signin, refuse a write
//     without the CSRF token, and hand fn the *Session: s.Actor is the plans.Actor to record
//     changes as, s.PlanID the one plan an invitation session may open, s.Side its audience.
//   - Invitations: after verifying a link, call h.StartSession(w, r, store.WebSession{Kind:
//     store.WebSessionInvitation, Ref: INVITATION_ID, ActorID: ..., ActorName: ..., Side:
//     "buyer", PlanID: ...}) and redirect to the room; store.DeleteWebSessionsRef ends the
//     sessions of a revoked invitation.
//   - Writes go through Options.Service (the plans.Service the JSON API uses), never around it.
//   - Errors: a pageFunc returns an error; *UserError is shown with its status, a not-found
//     error as 404, anything else as a logged 500. h.redirectFlash leaves a message for the
//     next page (post/redirect/get).
//   - Browser tests: web/webtest starts headless Chromium (Browser) and signs in (SignIn);
//     screenshots are written with -update (Screenshot).
package web
