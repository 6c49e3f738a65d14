package chat

// MayHoldKeyMarker reports whether b holds the marker of a private-key
// block's BEGIN or END line ("PRIVATE KEY"). False is a promise: KeyLines
// finds no BEGIN or END line in b. A search uses it to look for key blocks
// only in the part of a block it has reached, while those bytes are still
// in the processor's cache.
func MayHoldKeyMarker(b []byte) bool { return indexPrivateKey(b, 0) >= 0 }
