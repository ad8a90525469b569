// Package cachedir keeps the on-disk discipline that isobench's caches
// share: the images of the image package, the kernels and guest disks of
// the guest package.
//
// A cache directory has one lock file that a writer holds with flock(2)
// (Lock waits for it, TryLock does not), so that concurrent isobench
// processes neither race nor see half-written entries. An entry is written
// under a temporary name with BuildPrefix and renamed into place by
// Publish; an entry being replaced or removed is moved aside under
// OldPrefix first. RemoveLeftovers removes what interrupted writers left.
// Entries are named by hex SHA-256 digests (IsID, ShortID, FileDigest).
package cachedir
