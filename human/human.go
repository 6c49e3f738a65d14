// Package human formats durations, sizes and values for people: the one
// formatter replies, alerts and timelines use ("5 min", "1 h 30 min",
// "14 s"), never Go's "5m0s".
package human

import (
	"fmt"
	"strconv"
	"time"
)

// Duration renders d with its two largest units, rounded: "250 ms", "14 s",
// "2 min 5 s", "5 min", "1 h", "1 h 30 min", "3 d 4 h". Zero is "0 s";
// a negative duration gets a leading minus.
func Duration(d time.Duration) string {
	if d < 0 {
		return "-" + Duration(-d)
	}
	switch {
	case d == 0:
		return "0 s"
	case d < time.Second:
		ms := d.Round(time.Millisecond) / time.Millisecond
		if ms == 0 {
			return "< 1 ms"
		}
		return strconv.FormatInt(int64(ms), 10) + " ms"
	case d < time.Minute:
		s := d.Round(100 * time.Millisecond).Seconds()
		if s < 10 && s != float64(int64(s)) {
			return strconv.FormatFloat(s, 'f', 1, 64) + " s"
		}
		d = d.Round(time.Second)
		if d < time.Minute {
			return strconv.FormatInt(int64(d/time.Second), 10) + " s"
		}
	}
	type unit struct {
		d    time.Duration
		name string
	}
	units := []unit{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "min"}, {time.Second, "s"}}
	for i, u := range units[:3] {
		if d < u.d {
			continue
		}
		next := units[i+1]
		d = d.Round(next.d)
		big, small := d/u.d, (d%u.d)/next.d
		if small == 0 {
			return fmt.Sprintf("%d %s", big, u.name)
		}
		return fmt.Sprintf("%d %s %d %s", big, u.name, small, next.name)
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " s"
}

// Bytes renders n bytes in binary units: "512 B", "22.6 KiB", "1.5 GiB".
func Bytes(n int64) string {
	if n < 0 {
		return "-" + Bytes(-n)
	}
	const k = 1024
	if n < k {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, i := float64(n), 0
	names := []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	for v /= k; v >= k && i < len(names)-1; i++ {
		v /= k
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + names[i]
}
