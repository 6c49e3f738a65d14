package checks

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"opsbot/config"
)

// newProm runs the check's PromQL instant query through Prometheus' HTTP
// API. A scalar or a one-series vector is the value; a vector of several
// series gives one sample per series, its target the series' instance
// label (else the check's target).
func newProm(c config.Check, client *http.Client) (func(ctx context.Context, now time.Time) ([]Sample, error), error) {
	cfg := api.Config{Address: c.URL}
	if client != nil {
		cfg.Client = client
	}
	cl, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	q := v1.NewAPI(cl)
	ch := &Check{cfg: c}
	return func(ctx context.Context, now time.Time) ([]Sample, error) {
		val, _, _, err := q.Query(ctx, c.Query, now)
		if err != nil {
			return nil, fmt.Errorf("prometheus query: %w", err)
		}
		switch v := val.(type) {
		case *model.Scalar:
			return []Sample{ch.sample("", float64(v.Value))}, nil
		case model.Vector:
			if len(v) == 0 {
				return nil, nil // no series: no data, neither a breach nor a recovery
			}
			if len(v) == 1 {
				return []Sample{ch.sample("", float64(v[0].Value))}, nil
			}
			out := make([]Sample, 0, len(v))
			for _, s := range v {
				smp := ch.sample("", float64(s.Value))
				if inst := string(s.Metric["instance"]); inst != "" {
					smp.Target = inst
				}
				out = append(out, smp)
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
			return out, nil
		}
		return nil, fmt.Errorf("prometheus query: want a scalar or a vector, got %s", val.Type())
	}, nil
}
