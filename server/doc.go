// Package server is mapsync's HTTP surface: the plan and template API under /api/v1 with
// bearer-token auth and one JSON error shape, /metrics, /healthz and /readyz. (Webhooks in and
// the admin API come with their issues.)
//
// # Shape
//
// Server (see its doc for every route, the actor rules and the error statuses) is an http.Handler
// built by New from Options. Routes are method-and-path patterns on the standard ServeMux;
// handlers are methods on Server, one file per resource (plan_handlers.go, action_handlers.go,
// member_handlers.go, template_handlers.go); every error goes through writeError, which picks the
// status with errors.Is / errors.As on the typed errors of package plans.
//
// Changes go through plans.Service, the one way every caller changes plans: load the plan, apply
// a pure operation of package plans with a plans.Change (the actor and the server's clock), and
// write with Store.UpdatePlan, a compare-and-swap on the plan's version that also appends the
// events and marks the plan's CRM projection, in one transaction. When another change to the
// same plan got in first, the service reloads and reapplies (plans.DefaultRetries times); the
// action's own version in the request decides real conflicts (409).
//
// # Wiring
//
//	srv, err := server.New(server.Options{
//		Store:      st,                         // *store.Store
//		Logger:     log.With().Str("component", "http").Logger(),
//		Registerer: reg, Gatherer: reg,         // a *prometheus.Registry
//	})
//	httpServer := &http.Server{Addr: addr, Handler: srv, ReadHeaderTimeout: 10 * time.Second}
//
// /metrics, /healthz and /readyz share the API's listener and need no token.
//
// # Plan status
//
// GET /api/v1/plans/{plan} returns the plan with its progress read model; progress.status is the
// plan's health by the rule documented under "Plan status" on Server (and on plans.Plan.Progress):
// cancelled, completed, off_track (3 or more overdue actions, or one more than 7 days late),
// at_risk (an overdue or blocked action), on_track.
package server
