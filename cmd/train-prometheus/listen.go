package main

import (
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/prometheus/exporter-toolkit/web"
	"golang.org/x/net/netutil"
)

// listenAndServe serves srv on the addresses of f.web as exporter-toolkit
// does (TLS and basic auth from --web.config.file), holding at most
// f.maxConnections connections open at once on each TCP address, as
// Prometheus' --web.max-connections does: connections past the limit wait
// in the kernel's accept queue. Systemd socket activation and vsock
// addresses are served without the limit.
func listenAndServe(srv *http.Server, f flags, logger *slog.Logger) error {
	if f.maxConnections <= 0 || (f.web.WebSystemdSocket != nil && *f.web.WebSystemdSocket) {
		return web.ListenAndServe(srv, f.web, logger)
	}
	for _, addr := range *f.web.WebListenAddresses {
		if strings.HasPrefix(addr, "vsock://") {
			return web.ListenAndServe(srv, f.web, logger)
		}
	}
	listeners := make([]net.Listener, 0, len(*f.web.WebListenAddresses))
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for _, addr := range *f.web.WebListenAddresses {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		listeners = append(listeners, netutil.LimitListener(l, f.maxConnections))
	}
	return web.ServeMultiple(listeners, srv, f.web, logger)
}
