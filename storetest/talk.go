package storetest

// talkCases are the suite's tests of store.Talk.
func talkCases() []suiteCase { return nil }
