// Package guesttest gives tests a real guest kernel: the distribution's
// kernel package, fetched once with guest.FetchKernel into a cache under
// bin/test/ of the checkout (ignored by git) and reused by later test runs
// and by every package's tests.
package guesttest
