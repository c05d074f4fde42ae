package storetest

// reclassificationCases are the suite's tests of store.Reclassification.
func reclassificationCases() []suiteCase { return nil }
