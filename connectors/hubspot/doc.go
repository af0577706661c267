// Package hubspot implements connectors.Connector for HubSpot over its CRM v3/v4 APIs.
package hubspot
