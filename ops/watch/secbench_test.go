package watch

import (
	"bytes"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/ops/logs"
	"opsbot/ops/logs/loggen"
)

// BenchmarkSecurityFeed is the security log's share of a monitor pass:
// failed logins per address over 64 MiB of generated lines.
func BenchmarkSecurityFeed(b *testing.B) {
	var buf bytes.Buffer
	if err := loggen.Security(&buf, loggen.Options{Size: 64 << 20, End: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), Seed: 3}); err != nil {
		b.Fatal(err)
	}
	format, err := logs.FormatFor(config.LogFile{Format: "app_iso", Timezone: "UTC"})
	if err != nil {
		b.Fatal(err)
	}
	newAcc := NewLines(format, true, NeedleLoginFailed)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		for off := 0; off < len(data); {
			end := min(off+defaultBlockSize, len(data))
			if i := bytes.IndexByte(data[end-1:], '\n'); i >= 0 {
				end += i
			}
			a := newAcc()
			a.Feed(data[off:end])
			off = end
		}
	}
}
