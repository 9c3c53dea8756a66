// Package files carries out the operations of the files API (api.md §17)
// on the local file system: list a directory or a path, open a file for
// reading, write a file atomically, make directories and remove paths, with
// the permission and ownership rules of the spec (layers.md §3.3 for users
// and groups).
//
// Writes stream their content into a temporary file in the target's
// directory and rename it into place once complete, so memory use does not
// depend on the file's size and a failed write never leaves a partial file.
// The temporary file is synced to disk before the rename, so the path holds
// the old content or all of the new one, for readers and after a crash.
//
// Errors are the file system's (*fs.PathError and friends) or carry the
// spec's text; Kind classifies any of them as the API's error kinds. The
// package speaks no HTTP and knows no multipart framing.
package files
