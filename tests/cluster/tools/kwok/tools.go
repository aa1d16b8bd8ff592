//go:build tools

// Package tools pins the kwok binaries the integration tests run
// (built by ../../build.sh with `go build -o`); nothing here is compiled.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
	_ "sigs.k8s.io/kwok/cmd/kwokctl"
)
