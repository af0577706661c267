package web

import "net/http"

// roomRoutes registers the plan room and invitation pages (web/room*.go, owned by the room
// work): a stub until they land. See the package doc for how room pages plug in.
func (h *Handler) roomRoutes(m *http.ServeMux) {}
