// Package scheduler runs cron entries per connection on the elected leader, records runs and
// serves manual triggers.
package scheduler
