package activities

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// Bounds of the names DownloadMedia makes from event data, in bytes: well
// under NAME_MAX (255 on Linux, macOS and the BSDs), the partial file's
// "." and ".part.json" included, so no name from an event is too long.
const (
	// maxJobDirLen bounds a job's directory name.
	maxJobDirLen = 100
	// maxBaseLen bounds the part of a file name taken from the URL.
	maxBaseLen = 100
	// maxExtLen is the longest extension kept when a name is shortened.
	maxExtLen = 16
	// hashLen is the length of the hex hashes in names: 64 bits.
	hashLen = 16
)

// mediaPaths are the paths of one download: dir is MEDIA_DIR/<job dir>;
// final is dir/<URL hash>-<name>, where the whole file lands; part is the
// partial file it is written to, renamed to final once whole; meta holds
// the validator (ETag, Last-Modified) of the bytes in part, for resuming.
type mediaPaths struct {
	dir, final, part, meta string
}

// pathsFor returns the paths of rawURL's (parsed: u) media for jobID
// under mediaDir. Whatever the bytes of jobID and rawURL, every element
// below mediaDir is one bounded, printable-ASCII name, never "." or "..".
// The same job and URL always give the same paths; another URL, other
// paths, even when its file name is the same.
func pathsFor(mediaDir, jobID, rawURL string, u *url.URL) mediaPaths {
	dir := filepath.Join(mediaDir, jobDir(jobID))
	name := hashHex(rawURL) + "-" + fileName(u)
	return mediaPaths{
		dir:   dir,
		final: filepath.Join(dir, name),
		part:  filepath.Join(dir, "."+name+".part"),
		meta:  filepath.Join(dir, "."+name+".part.json"),
	}
}

// jobDir is the directory name of a job: the job ID itself when it is a
// safe name of at most maxJobDirLen bytes, else its safe name shortened,
// plus a hash of the ID, so two IDs that differ only in unsafe characters
// ("a/b", "a:b") or past the cut never share a directory.
func jobDir(jobID string) string {
	name := safeName(jobID)
	if name == jobID && len(name) <= maxJobDirLen {
		return name
	}
	return shorten(name, maxJobDirLen-hashLen-1, 0) + "-" + hashHex(jobID)
}

// fileName is the URL path's last element made safe as a file name and
// shortened to maxBaseLen bytes, keeping its extension; "media" when the
// path has none.
func fileName(u *url.URL) string {
	name := safeName(path.Base(u.Path))
	if name == "_" {
		return "media"
	}
	return shorten(name, maxBaseLen, maxExtLen)
}

// shorten cuts the ASCII name s to at most n bytes, keeping its extension
// when that is at most maxExt bytes.
func shorten(s string, n, maxExt int) string {
	if len(s) <= n {
		return s
	}
	ext := path.Ext(s)
	if len(ext) > maxExt || len(ext) == len(s) {
		ext = ""
	}
	return s[:n-len(ext)] + ext
}

// safeName maps s to one path element: letters, digits, '.', '-' and '_'
// kept, any other rune (or invalid UTF-8 byte) '_', and never "", "." or
// "..", so a job ID cannot climb out of MEDIA_DIR. The result is ASCII, so
// its length in bytes is its length in characters.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
	if strings.Trim(s, ".") == "" {
		return "_"
	}
	return s
}

// hashHex is the first hashLen hex digits of s's SHA-256.
func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:hashLen]
}
