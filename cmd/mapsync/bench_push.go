package main

import (
	"context"

	"github.com/mapsync/mapsync/sync/push"
)

// Pusher is the stack's push pipeline, built as `sync push` and serve build it.
func (st *benchStack) Pusher(ctx context.Context) (*push.Pusher, error) { return st.rt.pusher(ctx) }
