// Package proccpu reads how much processor time this process has used,
// user and system together, for benchmarks and the load generator: unlike
// throughput, CPU time per operation does not move when other processes
// share the cores, and it counts the work of every goroutine (a store's
// background checkpointer included).
package proccpu
