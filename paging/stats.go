package paging

import (
	"context"
	"time"

	"opsbot/store"
)

// AckStats are the alerts' times to acknowledge and to page in a period.
// MTTA, as the project defines it once: from the first notification (the
// alert's first message) to the first acknowledgement; an incident's (to
// its first ack or lead) is counted by package incidents from its opening.
type AckStats struct {
	Alerts     int           // alerts announced in the period
	Acked      int           // of which acknowledged
	MTTA       time.Duration // mean over the acknowledged
	Paged      int           // alerts a page reached an integration for
	TimeToPage time.Duration // mean from first notification to the first page delivered
}

// Stats returns the AckStats of alerts announced since `since`.
func (e *Engine) Stats(ctx context.Context, since time.Time) (AckStats, error) {
	var s AckStats
	rows, err := store.AlertTimesSince(ctx, e.st.DB, since)
	if err != nil {
		return s, err
	}
	var ack, page time.Duration
	for _, r := range rows {
		s.Alerts++
		if !r.AckedAt.IsZero() {
			s.Acked++
			ack += r.AckedAt.Sub(r.RoutedAt.Time)
		}
		if !r.PagedAt.IsZero() {
			s.Paged++
			page += r.PagedAt.Sub(r.RoutedAt.Time)
		}
	}
	if s.Acked > 0 {
		s.MTTA = ack / time.Duration(s.Acked)
	}
	if s.Paged > 0 {
		s.TimeToPage = page / time.Duration(s.Paged)
	}
	return s, nil
}
