// Package apitest is the stand-in for a VMM's REST API in contract tests:
// an in-process HTTP server on a unix socket that checks every request it
// gets against the VMM's published API description (method, path and
// body schema, with kin-openapi) and records it. Drivers of VMMs that
// cannot run on a host are tested against it there; their real
// integration tests run where the VMM does.
package apitest
