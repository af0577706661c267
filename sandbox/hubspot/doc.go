// Package hubspot is an in-process HubSpot simulator: private-app and OAuth auth, CRM objects,
// search, batch, properties, associations v4, owners, rate limits, faults and signed webhooks, on
// the real wire formats. Tests, benchmarks and the demo talk to it over HTTP.
package hubspot
