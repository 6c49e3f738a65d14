// Package inbound holds what every chat adapter does to a signed request
// before trusting it: read the body once under a size limit (the signature
// covers the raw bytes), and refuse a signature seen before (the platforms'
// own verifiers stop forgeries, not replays within their window).
package inbound

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// DefaultLimit bounds a body when the configuration sets none.
const DefaultLimit = 1 << 20

// ReadBody reads r's body under limit. On failure it has already answered
// (413 for a body too large, 400 otherwise) and returns false.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// Replay remembers signatures for ttl (longer than the platform's freshness
// window), so a request replayed within that window is refused.
type Replay struct {
	mu   sync.Mutex // check-and-record is one step
	seen *expirable.LRU[string, struct{}]
}

// NewReplay remembers up to size signatures for ttl each.
func NewReplay(size int, ttl time.Duration) *Replay {
	return &Replay{seen: expirable.NewLRU[string, struct{}](size, nil, ttl)}
}

// Seen reports whether key was seen before, and records it when it was not.
func (r *Replay) Seen(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen.Contains(key) {
		return true
	}
	r.seen.Add(key, struct{}{})
	return false
}
