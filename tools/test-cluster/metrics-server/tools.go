//go:build tools

// Package tools pins metrics-server (its own module: it is built against k8s.io libraries of a newer
// minor than the cluster's, which the parent module's replace lines would otherwise force down).
package tools

import (
	_ "sigs.k8s.io/metrics-server/cmd/metrics-server"
)
