//go:build purego || !(amd64 || arm64)

package kernels

// kvPath returns the KV-cache attention routines of the current path: the
// generic ones here.
func kvPath() *kvImpl { return &kvGeneric }
