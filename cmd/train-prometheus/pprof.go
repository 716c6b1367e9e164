package main

import (
	"net/http"
	"net/http/pprof"
)

// withPprof serves the Go profiling endpoints under /debug/pprof/ beside h.
// They are off unless --web.enable-pprof is given: profiles reveal memory
// contents and cost CPU.
func withPprof(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
