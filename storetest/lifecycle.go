package storetest

// lifecycleCases are the suite's tests of store.TenantLifecycle.
func lifecycleCases() []suiteCase { return nil }
