// Package fault holds heepr's fault-injection tests: the real binary under
// a Postgres crash, SIGKILL, a worker killed around the payout commit, a
// full disk, slow clients and huge requests. They are behind the build tag
// fault and run alone, after the other tests:
//
//	go test -tags fault -count=1 -v ./test/fault
//
// docs/RELIABILITY.md lists each test and its latest result.
package fault
