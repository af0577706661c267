// Package salesforce implements connectors.Connector for Salesforce over its REST API.
package salesforce
