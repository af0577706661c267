// Package push runs the push pipeline: claim dirty push-state rows, evaluate mappings, diff,
// write batches to the CRM within its limits, and record per-record results with retries and a
// dead letter.
package push
