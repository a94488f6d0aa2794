package httpapi

import (
	"net/http"
	"net/http/pprof"
)

// ProfilerHandler serves Go's profiler (net/http/pprof) under
// /debug/pprof/, for DEBUG_ADDR: on a listener of its own, never on the
// webhook's.
func ProfilerHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
