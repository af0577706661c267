// Package templates embeds the example plan templates, so the demo and a fresh setup have them
// wherever the binary runs.
package templates

import "embed"

// FS holds the example templates (*.yaml).
//
//go:embed *.yaml
var FS embed.FS
