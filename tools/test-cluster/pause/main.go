// Command pause is the pod sandbox's first process: it holds the pod's namespaces open, reaps
// orphans (it is PID 1 when the pod shares its process namespace) and exits on SIGTERM/SIGINT.
// Built statically (CGO_ENABLED=0) and shipped FROM scratch, because no upstream pause image can be
// pulled on machines without internet access.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reapChildren()
	}
}

func reapChildren() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
