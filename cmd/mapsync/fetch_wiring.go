package main

import "context"

// fetcher returns the webhook processing's deal fetch: nil until the connectors read deals by
// id (then events naming a deal pull instead).
func (rt *runtime) fetcher(name func(int64) (string, error)) func(ctx context.Context, connectionID int64, deals []string) error {
	return nil
}
