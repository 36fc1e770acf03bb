// A CoreDNS binary with only the plugins the test cluster's Corefile uses (see up.sh): the cluster's
// names from the API (kubernetes), ready/health endpoints for up.sh, errors and log for the log file,
// and bind to listen on the bridge address. There is deliberately no forward, grpc, etcd or
// cloud plugin in it: this DNS server cannot send a query anywhere, whatever its Corefile says.
// Same entry point as upstream's coredns.go; the plugin list replaces core/plugin (every plugin).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order plugins run in for a query, upstream's order (plugin.cfg) restricted to the ones above; a
// directive not in this list is a Corefile error.
func init() {
	dnsserver.Directives = []string{"bind", "ready", "health", "errors", "log", "kubernetes"}
}

func main() {
	coremain.Run()
}
