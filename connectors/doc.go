// Package connectors defines the CRM-neutral vocabulary of mapsync (records, deals, contacts,
// contact roles, owners, field metadata, cursors), the Connector interface that each CRM implements,
// and the HTTP plumbing the implementations share: retry policy, rate governor and OAuth token source.
package connectors
