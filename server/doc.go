// Package server is mapsync's HTTP surface: webhooks in, the plan and admin API under /api/v1,
// /metrics, /healthz and /readyz, with bearer-token auth and one JSON error shape.
package server
