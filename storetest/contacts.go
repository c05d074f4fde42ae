package storetest

// contactCases are the suite's tests of store.Contacts.
func contactCases() []suiteCase { return nil }
