package diagnose

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

func redisChecks() []Check { return []Check{{Name: "redis", Run: checkRedis}} }

// infoFields reads "key:value" lines of INFO.
func infoFields(s string) map[string]string {
	out := map[string]string{}
	for _, ln := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(ln), ":")
		if ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out
}

func num(m map[string]string, k string) float64 {
	v, _ := strconv.ParseFloat(m[k], 64)
	return v
}

func checkRedis(ctx context.Context, e *Env) ([]Finding, error) {
	r := e.Target.Redis
	if r.Addr == "" {
		return []Finding{{Title: "no Redis configured for this target", Score: 1}}, nil
	}
	c := redis.NewClient(&redis.Options{Addr: r.Addr, DB: r.DB, Password: r.Password.Reveal(), MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return []Finding{{Title: fmt.Sprintf("Redis at %s does not answer: %s", r.Addr, clip(err.Error(), 150)), Score: 93, Next: "start Redis; " + verb("status", e.Target.Name)}}, nil
	}
	raw, err := c.Info(ctx, "memory", "stats", "clients", "keyspace").Result()
	if err != nil {
		return nil, fmt.Errorf("redis info: %w", err)
	}
	m := infoFields(raw)
	used, maxm := num(m, "used_memory"), num(m, "maxmemory")
	evicted, clients := num(m, "evicted_keys"), num(m, "connected_clients")
	var ks []string
	for k, v := range m {
		if strings.HasPrefix(k, "db") {
			ks = append(ks, k+" "+v)
		}
	}
	ev := []string{fmt.Sprintf("used_memory %s, maxmemory %s, policy %s", bytesIEC(uint64(used)), maxOrNone(maxm), m["maxmemory_policy"]),
		fmt.Sprintf("evicted_keys %.0f, connected_clients %.0f", evicted, clients)}
	if len(ks) > 0 {
		ev = append(ev, "keyspace: "+strings.Join(ks, "; "))
	}
	var out []Finding
	if maxm > 0 {
		share := 100 * used / maxm
		f := Finding{Title: fmt.Sprintf("Redis uses %s of its maxmemory", pct(share)), Score: scale(share, 70, 98, 3, 85), Evidence: ev}
		if f.Score >= ScoreNotable {
			f.Next = verb("cache", "flush", e.Target.Name)
		}
		out = append(out, f)
	} else {
		out = append(out, Finding{Title: fmt.Sprintf("Redis answers, %s used, no maxmemory", bytesIEC(uint64(used))), Score: 3, Evidence: ev})
	}
	if evicted > 0 {
		out = append(out, Finding{Title: fmt.Sprintf("Redis has evicted %.0f key(s)", evicted), Score: scale(evicted, 0, 10000, 25, 60), Evidence: ev[1:2]})
	}
	if mc := num(m, "maxclients"); mc > 0 && clients/mc > 0.5 {
		out = append(out, Finding{Title: fmt.Sprintf("%.0f of %.0f Redis clients connected", clients, mc), Score: scale(clients/mc, 0.5, 1, 20, 80)})
	}
	return out, nil
}

func maxOrNone(v float64) string {
	if v == 0 {
		return "none"
	}
	return bytesIEC(uint64(v))
}
