// Package salesforce is an in-process Salesforce simulator: OAuth, SOQL query, describe,
// sObject CRUD and collections, replication endpoints, limits, faults and outbound messages, on
// the real wire formats. Tests, benchmarks and the demo talk to it over HTTP.
package salesforce
