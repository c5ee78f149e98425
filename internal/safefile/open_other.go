//go:build !unix

package safefile

// openNonBlocking has no equivalent here; the regular-file check still refuses what is not one.
const openNonBlocking = 0
