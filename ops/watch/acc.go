package watch

import (
	"bytes"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"opsbot/ops/logs"
)

// AccessStats counts an nginx access log: requests, 5xx, response time
// (nginx_timed's $request_time) and requests per client IP. IPv4 addresses
// are kept as uint32 keys so counting allocates nothing per line.
type AccessStats struct {
	Requests int64
	Err5xx   int64
	Unparsed int64
	// RTSum is the sum of request times of the RTCount lines that carry one.
	RTSum   time.Duration
	RTCount int64
	// Lines is every non-empty line fed, parsed or not.
	Lines   int64
	ByIPv4  *ipCounts
	ByOther map[string]int64 // IPv6 and anything else in the first field
}

// NewAccess makes an empty AccessStats.
func NewAccess() Acc {
	return &AccessStats{ByIPv4: newIPCounts(1024), ByOther: map[string]int64{}}
}

// Feed implements Acc.
func (a *AccessStats) Feed(lines []byte) {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		if i < 0 {
			i = len(lines)
		}
		line := lines[:i]
		lines = lines[min(i+1, len(lines)):]
		if len(line) == 0 {
			continue
		}
		a.Lines++
		ipb, status, rt, hasRT, ok := accessFast(line)
		if !ok {
			f, ok := logs.ParseNginx(line)
			if !ok {
				a.Unparsed++
				continue
			}
			ipb, status, rt, hasRT = f.IP, f.Status, f.RequestTime, f.HasRequestTime
		}
		a.Requests++
		if status >= 500 {
			a.Err5xx++
		}
		if hasRT {
			a.RTSum += rt
			a.RTCount++
		}
		if ip, ok := ParseIPv4(ipb); ok {
			a.ByIPv4.Add(ip, 1)
		} else {
			a.ByOther[string(ipb)]++
		}
	}
}

// Merge implements Acc.
func (a *AccessStats) Merge(other Acc) {
	o := other.(*AccessStats)
	a.Requests += o.Requests
	a.Err5xx += o.Err5xx
	a.Unparsed += o.Unparsed
	a.RTSum += o.RTSum
	a.RTCount += o.RTCount
	a.Lines += o.Lines
	a.ByIPv4.Merge(o.ByIPv4)
	for k, v := range o.ByOther {
		a.ByOther[k] += v
	}
}

// accessFast reads the three fields a monitor pass needs from a plain
// nginx line (client IP, status, trailing $request_time) with a handful of
// byte searches. Anything unusual (escaped quotes, a missing field) returns
// !ok and the line goes to logs.ParseNginx, which has the last word.
func accessFast(line []byte) (ip []byte, status int, rt time.Duration, hasRT, ok bool) {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 {
		return
	}
	rb := bytes.IndexByte(line[sp:], ']')
	if rb < 0 {
		return
	}
	q := sp + rb + 3 // after `] "`
	if q >= len(line) || line[q-2] != ' ' || line[q-1] != '"' {
		return
	}
	cq := bytes.IndexByte(line[q:], '"')
	if cq < 0 {
		return
	}
	cq += q
	if line[cq-1] == '\\' || cq+5 >= len(line) || line[cq+1] != ' ' || line[cq+5] != ' ' {
		return
	}
	d0, d1, d2 := line[cq+2]-'0', line[cq+3]-'0', line[cq+4]-'0'
	if d0 > 9 || d1 > 9 || d2 > 9 {
		return
	}
	status = int(d0)*100 + int(d1)*10 + int(d2)
	end := len(line)
	if line[end-1] == '\r' {
		end--
	}
	ls := bytes.LastIndexByte(line[:end], ' ')
	if ls > cq+5 && line[end-1] != '"' {
		// The last field: $request_time as seconds with up to 3 decimals.
		var whole, frac int64
		scale := int64(time.Second)
		i := ls + 1
		for i < end && line[i] >= '0' && line[i] <= '9' {
			whole = whole*10 + int64(line[i]-'0')
			i++
		}
		if i == ls+1 {
			return
		}
		if i < end && line[i] == '.' {
			i++
			for i < end && line[i] >= '0' && line[i] <= '9' {
				scale /= 10
				frac += int64(line[i]-'0') * scale
				i++
			}
		}
		if i != end {
			return
		}
		rt, hasRT = time.Duration(whole)*time.Second+time.Duration(frac), true
	}
	return line[:sp], status, rt, hasRT, true
}

// LineCount is the number of non-empty lines fed.
func (a *AccessStats) LineCount() int64 { return a.Lines }

// MeanResponse is the mean request time, 0 without timed lines.
func (a *AccessStats) MeanResponse() time.Duration {
	if a.RTCount == 0 {
		return 0
	}
	return a.RTSum / time.Duration(a.RTCount)
}

// Rate5xx is the share of 5xx answers in percent, 0 without requests.
func (a *AccessStats) Rate5xx() float64 {
	if a.Requests == 0 {
		return 0
	}
	return 100 * float64(a.Err5xx) / float64(a.Requests)
}

// IPsOver returns the client IPs with more than n requests.
func (a *AccessStats) IPsOver(n int64) map[string]int64 {
	out := map[string]int64{}
	a.ByIPv4.Each(func(k uint32, v int64) {
		if v > n {
			out[FormatIPv4(k)] = v
		}
	})
	for k, v := range a.ByOther {
		if v > n {
			out[k] = v
		}
	}
	return out
}

// ParseIPv4 reads a dotted quad into a uint32 without allocating.
func ParseIPv4(b []byte) (uint32, bool) {
	var ip, part uint32
	dots, nd := 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			part = part*10 + uint32(c-'0')
			nd++
			if nd > 3 || part > 255 {
				return 0, false
			}
		case c == '.':
			if nd == 0 || dots == 3 {
				return 0, false
			}
			ip = ip<<8 | part
			part, nd = 0, 0
			dots++
		default:
			return 0, false
		}
	}
	if dots != 3 || nd == 0 {
		return 0, false
	}
	return ip<<8 | part, true
}

// FormatIPv4 writes a uint32 key back as a dotted quad.
func FormatIPv4(ip uint32) string {
	b := make([]byte, 0, 15)
	for i := 3; i >= 0; i-- {
		b = strconv.AppendUint(b, uint64(ip>>(8*i)&0xff), 10)
		if i > 0 {
			b = append(b, '.')
		}
	}
	return string(b)
}

// LineStats counts lines of an application log: all lines, lines without a
// timestamp in the log's format (unparsed), lines containing each needle
// (a needle is a list of words: a line holding any of them counts once),
// and, with PerIP, the source IP of lines containing the first needle
// (IPv4 as integer keys in a bounded table, see ipCounts).
type LineStats struct {
	format   logs.Format
	needles  [][][]byte
	perIP    bool
	Lines    int64 // every non-empty line
	Unparsed int64
	Hits     []int64
	ByIPv4   *ipCounts
	ByOther  map[string]int64 // IPv6; at most MaxTrackedIPs, later ones are not kept
}

// NewLines returns a constructor of LineStats. format may be nil (no
// format check).
func NewLines(format logs.Format, perIP bool, needles ...string) func() Acc {
	words := make([][]string, len(needles))
	for i, n := range needles {
		words[i] = []string{n}
	}
	return NewLinesAny(format, perIP, words...)
}

// NewLinesAny is NewLines with needles of several words each (the same
// signal in English and Chinese logs: "login failed", "登录失败").
func NewLinesAny(format logs.Format, perIP bool, needles ...[]string) func() Acc {
	nb := make([][][]byte, len(needles))
	for i, ws := range needles {
		for _, w := range ws {
			if w != "" {
				nb[i] = append(nb[i], []byte(w))
			}
		}
	}
	return func() Acc {
		return &LineStats{format: format, needles: nb, perIP: perIP, Hits: make([]int64, len(nb)), ByIPv4: newIPCounts(256), ByOther: map[string]int64{}}
	}
}

// Feed implements Acc.
func (s *LineStats) Feed(lines []byte) {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		if i < 0 {
			i = len(lines)
		}
		line := lines[:i]
		if i > 0 && line[i-1] == '\r' {
			line = bytes.TrimRight(line, "\r")
		}
		lines = lines[min(i+1, len(lines)):]
		if len(line) == 0 {
			continue
		}
		s.Lines++
		if s.format != nil {
			if _, ok := s.format.Time(line); !ok {
				s.Unparsed++
			}
		}
		for j, ws := range s.needles {
			if containsAny(line, ws) {
				s.Hits[j]++
				if j == 0 && s.perIP {
					s.countIP(line)
				}
			}
		}
	}
}

func containsAny(line []byte, words [][]byte) bool {
	for _, w := range words {
		if bytes.Contains(line, w) {
			return true
		}
	}
	return false
}

func (s *LineStats) countIP(line []byte) {
	v4, other, ok := lineIP(line)
	switch {
	case !ok:
	case other == "":
		s.ByIPv4.Add(v4, 1)
	default:
		if _, kept := s.ByOther[other]; kept || len(s.ByOther) < MaxTrackedIPs {
			s.ByOther[other]++
		}
	}
}

// Merge implements Acc.
func (s *LineStats) Merge(other Acc) {
	o := other.(*LineStats)
	s.Lines += o.Lines
	s.Unparsed += o.Unparsed
	for i := range s.Hits {
		s.Hits[i] += o.Hits[i]
	}
	s.ByIPv4.Merge(o.ByIPv4)
	for k, v := range o.ByOther {
		if _, kept := s.ByOther[k]; kept || len(s.ByOther) < MaxTrackedIPs {
			s.ByOther[k] += v
		}
	}
}

// IPsOver returns the addresses with more than n lines holding the first
// needle.
func (s *LineStats) IPsOver(n int64) map[string]int64 {
	out := map[string]int64{}
	s.ByIPv4.Each(func(k uint32, v int64) {
		if v > n {
			out[FormatIPv4(k)] = v
		}
	})
	for k, v := range s.ByOther {
		if v > n {
			out[k] = v
		}
	}
	return out
}

// lineIP is the line's source address: its first field when that is an IP
// (as the seed's `awk '{print $1}'` reads security.log), else the first
// field that is one ("… login failed for bob from 10.0.0.7"). An IPv4
// address comes back as its integer key (no allocation); any other as its
// text in other.
func lineIP(line []byte) (v4 uint32, other string, ok bool) {
	// Fields are split on ASCII white space while the line is ASCII, which
	// is what bytes.Fields does then; a non-ASCII byte before the address
	// hands the line to bytes.FieldsSeq (Unicode spaces).
	for i := 0; i < len(line); {
		for i < len(line) && asciiSpace[line[i]] {
			i++
		}
		j := i
		dotOrColon := false
		for j < len(line) && !asciiSpace[line[j]] {
			c := line[j]
			if c >= utf8.RuneSelf {
				return lineIPFields(line)
			}
			dotOrColon = dotOrColon || c == '.' || c == ':'
			j++
		}
		// An address has a dot (a quad) or a colon (IPv6, a port).
		if dotOrColon {
			if v4, other, ok, done := fieldIP(line[i:j]); done {
				return v4, other, ok
			}
		}
		i = j
	}
	return 0, "", false
}

var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// lineIPFields is lineIP over Unicode-space separated fields.
func lineIPFields(line []byte) (v4 uint32, other string, ok bool) {
	for f := range bytes.FieldsSeq(line) {
		if v4, other, ok, done := fieldIP(f); done {
			return v4, other, ok
		}
	}
	return 0, "", false
}

// fieldIP reads one field as an address; done is false when it is none.
func fieldIP(f []byte) (v4 uint32, other string, ok, done bool) {
	f = trimPunct(f)
	if k, v, ok := bytes.Cut(f, []byte("=")); ok && len(v) > 0 && len(k) > 0 {
		f = v
	}
	if ip, ok := canonicalIPv4(f); ok {
		return ip, "", true, true
	}
	if !maybeIP(f) {
		return 0, "", false, false
	}
	if a, err := netip.ParseAddr(string(f)); err == nil {
		if a.Is4() {
			return ipKey(a), "", true, true
		}
		return 0, a.String(), true, true
	}
	if ap, err := netip.ParseAddrPort(string(f)); err == nil {
		if ap.Addr().Is4() {
			return ipKey(ap.Addr()), "", true, true
		}
		return 0, ap.Addr().String(), true, true
	}
	return 0, "", false, false
}

// trimPunct is bytes.Trim(f, "[](),;\"'") without building the set per call.
func trimPunct(f []byte) []byte {
	punct := func(c byte) bool {
		switch c {
		case '[', ']', '(', ')', ',', ';', '"', '\'':
			return true
		}
		return false
	}
	for len(f) > 0 && punct(f[0]) {
		f = f[1:]
	}
	for len(f) > 0 && punct(f[len(f)-1]) {
		f = f[:len(f)-1]
	}
	return f
}

func ipKey(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// canonicalIPv4 is ParseIPv4 without leading zeros, as netip reads a quad.
func canonicalIPv4(f []byte) (uint32, bool) {
	if len(f) < 7 || len(f) > 15 || f[0] < '0' || f[0] > '9' {
		return 0, false
	}
	ip, ok := ParseIPv4(f)
	if !ok {
		return 0, false
	}
	for i := 0; i+1 < len(f); i++ {
		if f[i] == '0' && (i == 0 || f[i-1] == '.') && f[i+1] != '.' {
			return 0, false
		}
	}
	return ip, true
}

// maybeIP reports whether f could be what netip parses as an IPv6 address
// or an address with a port: hex digits, colons, dots, brackets, a zone.
func maybeIP(f []byte) bool {
	// A quad without a port is canonicalIPv4's; the rest has a colon.
	if len(f) < 2 || bytes.IndexByte(f, ':') < 0 {
		return false
	}
	for _, c := range f {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == ':', c == '.', c == '[', c == ']':
		case c == '%':
			return true // a zone: anything may follow
		default:
			return false
		}
	}
	return true
}
