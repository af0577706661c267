// Package inbox processes durable webhook inbox rows: fetch the records they name and
// instantiate plans, with retries.
package inbox
