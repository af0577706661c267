// Package config holds mapsync's configuration types, loads them from YAML with ${ENV}
// expansion and strict keys, and validates them, reporting every problem with its YAML path and line.
package config
