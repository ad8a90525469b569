// Package warning holds Warning: a problem that does not stop a run or an
// analysis but is shown with its results, as data (a stable code and a
// message for people). It imports nothing of isobench, so that the
// packages that judge something, stats over samples and hostinfo over the
// host, share one type without depending on each other. Each names its
// own codes; the codes more than one of them gives are here.
package warning
