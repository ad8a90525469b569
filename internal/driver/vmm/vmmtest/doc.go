// Package vmmtest is the test scaffolding shared by the VM drivers whose
// VMM has a REST API (Firecracker, Cloud Hypervisor): the run of a
// contract test against the stand-in API of package apitest, the check
// that the stand-in rejects requests outside the API description, and the
// run of the shared driver suite on the real VMM wherever it works.
//
// It owns no assertions about a VMM's requests: each driver's tests check
// what its own API wants of them. What it guarantees is the same frame
// around those checks for every such driver: every request checked against
// the description, bounded waits, and a skip that says what is missing
// where the real VMM cannot run.
package vmmtest
