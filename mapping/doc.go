// Package mapping compiles admin-written mappings (CRM field <- expression over deal and plan),
// type-checks them against CRM field metadata, coerces values per CRM and diffs them against what
// was last pushed.
package mapping
