package main

// ConfigYAML is the configuration the stack was built from, for `mapsync` child processes (the
// pull scenario runs `mapsync sync run` as one to measure its peak RSS alone).
func (st *benchStack) ConfigYAML() string {
	return st.sb.configYAML(st.rt.cfg.Database.URL.Reveal())
}
