package buildinfo

import "github.com/prometheus/client_golang/prometheus"

// Collector is the custody_build_info gauge: always 1, with the build as labels, so a dashboard
// can tell which build each custodyd and agent runs (the Prometheus convention for *_build_info).
func Collector() prometheus.Collector {
	in := Get()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "custody_build_info", Help: "The running build of custody: version, commit, build date and Go version; always 1."},
		[]string{"version", "commit", "build_date", "goversion"})
	g.WithLabelValues(in.Version, in.Commit, in.Date, in.GoVersion).Set(1)
	return g
}
