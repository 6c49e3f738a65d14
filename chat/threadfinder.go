package chat

import (
	"context"
	"time"
)

// ThreadFinder is a poster that can find a reply posted earlier under
// parent (in the parent's thread, which a channel's history leaves out)
// carrying key between from and to: the delivery worker asks before it
// resends a reply after a crash.
type ThreadFinder interface {
	FindReplyByKey(ctx context.Context, parent Ref, key string, from, to time.Time) (Ref, bool, error)
}

var _ ThreadFinder = (*Router)(nil)

// FindReplyByKey asks the parent's platform to look for key in the
// parent's thread; a poster that cannot reports not found.
func (r *Router) FindReplyByKey(ctx context.Context, parent Ref, key string, from, to time.Time) (Ref, bool, error) {
	p, err := r.poster(parent.Platform)
	if err != nil {
		return Ref{}, false, err
	}
	tf, ok := p.(ThreadFinder)
	if !ok {
		return Ref{}, false, nil
	}
	ref, found, err := tf.FindReplyByKey(ctx, parent, key, from, to)
	ref.Platform = parent.Platform
	return ref, found, err
}
