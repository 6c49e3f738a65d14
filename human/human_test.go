package human

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"},
		{400 * time.Microsecond, "< 1 ms"},
		{250 * time.Millisecond, "250 ms"},
		{1500 * time.Millisecond, "1.5 s"},
		{14 * time.Second, "14 s"},
		{59600 * time.Millisecond, "1 min"},
		{5 * time.Minute, "5 min"},
		{2*time.Minute + 5*time.Second, "2 min 5 s"},
		{time.Hour, "1 h"},
		{90 * time.Minute, "1 h 30 min"},
		{26*time.Hour + 24*time.Minute, "1 d 2 h"},
		{-5 * time.Minute, "-5 min"},
	} {
		if got := Duration(c.d); got != c.want {
			t.Errorf("Duration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{512, "512 B"}, {23142, "22.6 KiB"}, {3 << 30, "3.0 GiB"}} {
		if got := Bytes(c.n); got != c.want {
			t.Errorf("Bytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
