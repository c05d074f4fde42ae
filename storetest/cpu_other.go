//go:build !unix

package storetest

// processCPU returns -1: the benchmarks report process CPU on Unix only.
func processCPU() int64 { return -1 }
