package chat

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Mask is what every secret becomes.
const Mask = "[REDACTED]"

// Redactor removes secrets from text before it leaves for a chat or is
// matched by a search: configured secret values (any length, any ASCII case,
// and their base64 and URL-escaped forms), Authorization headers, key-value
// secrets with English or Chinese keys, URL user-info, cookies, bearer
// tokens and JWTs, private-key blocks, tokens known by their prefix, and the
// configured extra patterns. Everything outside a secret is kept byte for
// byte, and redacting twice changes nothing more.
//
// A nil *Redactor applies the built-in rules only.
type Redactor struct {
	forms []form // configured values and their encodings, longest first
	extra []extraRule
	// Suspect's triggers: the markers a byte may belong to (index into
	// lists; 0 = none).
	trig  [256]uint16
	lists [][]marker
	// pairs has a bit for each two bytes at k and k+1 of a marker: a
	// trigger byte not followed by one of its seconds is passed over
	// without looking at its markers. single marks the one-byte markers.
	pairs  [1 << 13]uint8
	single [256]bool
}

// form is one way a configured secret may be written.
type form struct {
	s    string // as matched (lower case when fold)
	fold bool   // ASCII letters in any case
}

type extraRule struct {
	re     *regexp.Regexp
	prefix string // every match starts with it; "" = Suspect must run re
}

// marker is a string every secret of some rule contains, found by the
// byte at k (the rarest of it).
type marker struct {
	s     string
	fold  bool // s is lower case; ASCII letters match in any case
	k     int
	kind  uint8
	group uint16 // the rule it is a marker of
}

// Groups of markers: the rule each belongs to. Redact runs a rule only when
// one of its markers is in the text, so Suspect, which looks for the same
// markers, can never be wrong.
const (
	gValues uint16 = 1 << iota
	gExtra
	gPEMBegin
	gPEMEnd
	gKey
	gCookie
	gURL
	gBearer
	gJWT
	gPrefix
	gDiscord
	gNewline
)

const (
	kindPlain   uint8 = iota
	kindURL           // '@' with "://" before it: URL user-info
	kindDiscord       // '.' with 6 token characters and another '.'
	kindKey           // a secret key: a separator must follow, and the key be one
	kindSep           // a separator must follow
)

var builtinRedactor = NewRedactor(nil, nil)

// NewRedactor builds a redactor for the given secret values and extra RE2
// patterns (each match is masked whole).
func NewRedactor(values []string, patterns []*regexp.Regexp) *Redactor {
	r := &Redactor{lists: [][]marker{nil}}
	seen := map[form]bool{}
	add := func(f form) {
		if f.s != "" && !seen[f] {
			seen[f] = true
			r.forms = append(r.forms, f)
		}
	}
	for _, v := range values {
		if v == "" {
			continue
		}
		add(form{s: asciiLower(v), fold: true})
		for _, e := range encodings(v) {
			add(form{s: e})
		}
		if q := url.QueryEscape(v); q != v {
			add(form{s: asciiLower(q), fold: true})
		}
		if p := url.PathEscape(v); p != v {
			add(form{s: asciiLower(p), fold: true})
		}
	}
	// Longest first: a value inside another is masked with it.
	sort.SliceStable(r.forms, func(i, j int) bool { return len(r.forms[i].s) > len(r.forms[j].s) })
	for _, f := range r.forms {
		r.addMarker(marker{s: f.s, fold: f.fold, k: rarest(f.s), group: gValues})
	}
	for _, p := range patterns {
		x := extraRule{re: p}
		if pre, _ := p.LiteralPrefix(); pre != "" {
			x.prefix = pre
			r.addMarker(marker{s: pre, k: rarest(pre), group: gExtra})
		}
		r.extra = append(r.extra, x)
	}
	for _, m := range builtinMarkers {
		r.addMarker(m)
	}
	// A newline triggers too (see Suspect); its list stays empty.
	r.lists = append(r.lists, nil)
	r.trig['\n'] = uint16(len(r.lists) - 1)
	r.single['\n'] = true
	return r
}

// encodings are the base64 forms of v: whole (standard and URL alphabets,
// with and without padding) and, for values long enough not to collide with
// ordinary text, the part that stays the same wherever v starts inside a
// longer encoded string (Basic credentials "user:secret").
func encodings(v string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		full := enc.EncodeToString([]byte(v))
		out = append(out, full)
		if raw := strings.TrimRight(full, "="); raw != full && len(raw) >= 8 {
			out = append(out, raw)
		}
		raw := enc.WithPadding(base64.NoPadding)
		for shift := 1; shift <= 2; shift++ {
			s := raw.EncodeToString(append(make([]byte, shift), v...))
			// Characters carrying bits of the bytes before v, or of the
			// padding after it, depend on the neighbours: drop them.
			lead := (8*shift + 5) / 6
			end := len(s)
			if (8*(shift+len(v)))%6 != 0 {
				end--
			}
			if end-lead >= 8 {
				out = append(out, s[lead:end])
			}
		}
		if raw := raw.EncodeToString([]byte(v)); len(v)%3 != 0 && len(raw) > 8 {
			// v at the start of a longer string: its last character depends
			// on what follows.
			out = append(out, raw[:len(raw)-1])
		}
	}
	return out
}

func (r *Redactor) addMarker(m marker) {
	if n := len(m.s); n >= 2 && m.k > n-2 {
		m.k = n - 2 // the trigger needs a byte after it
	}
	cases := func(c byte) []byte {
		if m.fold && c >= 'a' && c <= 'z' {
			return []byte{c, c - 32}
		}
		return []byte{c}
	}
	cs := cases(m.s[m.k])
	if len(m.s) == 1 {
		r.single[m.s[0]] = true
	} else {
		for _, a := range cs {
			for _, b := range cases(m.s[m.k+1]) {
				x := uint16(a)<<8 | uint16(b)
				r.pairs[x>>3] |= 1 << (x & 7)
			}
		}
	}
	for _, b := range cs {
		i := r.trig[b]
		if i == 0 {
			r.lists = append(r.lists, nil)
			i = uint16(len(r.lists) - 1)
			r.trig[b] = i
		}
		r.lists[i] = append(r.lists[i], m)
	}
}

// rarest picks the byte of s least likely in log text, so Suspect stops
// on few bytes.
func rarest(s string) int {
	k, best := 0, 1<<30
	for i := 0; i < len(s); i++ {
		c := s[i]
		w := 3
		switch {
		case c == ' ' || c == '=' || c == '-' || c == ':' || c == '.' || c == '/':
			w = 9
		case c >= 'a' && c <= 'z':
			w = 8
			if strings.IndexByte("etaoinsrhl", c) >= 0 {
				w = 10
			}
		case c >= '0' && c <= '9':
			w = 9 // every timestamp is full of them
		case c >= 'A' && c <= 'Z':
			w = 4
		case c >= 0x80:
			w = 5
		}
		if w < best {
			k, best = i, w
		}
	}
	return k
}

// The markers of the built-in rules. A rule never matches text that holds
// none of its markers; Suspect relies on it.
var builtinMarkers = []marker{
	// key-value secrets, by the words keys end with
	{s: "password", fold: true, k: 4, kind: kindKey, group: gKey},
	{s: "passwd", fold: true, k: 4, kind: kindKey, group: gKey},
	{s: "passphrase", fold: true, k: 4, kind: kindKey, group: gKey},
	{s: "pass", fold: true, k: 0, kind: kindKey, group: gKey},
	{s: "pwd", fold: true, k: 1, kind: kindKey, group: gKey},
	{s: "secret", fold: true, k: 2, kind: kindKey, group: gKey},
	{s: "token", fold: true, k: 2, kind: kindKey, group: gKey},
	{s: "key", fold: true, k: 0, kind: kindKey, group: gKey},
	{s: "credential", fold: true, k: 0, kind: kindKey, group: gKey},
	{s: "credentials", fold: true, k: 0, kind: kindKey, group: gKey},
	{s: "authorization", fold: true, k: 7, kind: kindKey, group: gKey},
	{s: "密码", k: 2, kind: kindKey, group: gKey},
	{s: "口令", k: 2, kind: kindKey, group: gKey},
	{s: "密钥", k: 2, kind: kindKey, group: gKey},
	{s: "令牌", k: 2, kind: kindKey, group: gKey},
	// cookies, bearer tokens, JWTs
	{s: "cookie", fold: true, k: 3, kind: kindSep, group: gCookie},
	{s: "bearer", fold: true, k: 0, group: gBearer},
	{s: "eyJ", k: 2, group: gJWT},
	// known prefixes
	{s: "xox", k: 0, group: gPrefix},
	{s: "xapp-", k: 0, group: gPrefix},
	{s: "sk-", k: 1, group: gPrefix},
	{s: "sk_", k: 1, group: gPrefix},
	{s: "rk_", k: 1, group: gPrefix},
	{s: "ghp_", k: 3, group: gPrefix}, {s: "gho_", k: 3, group: gPrefix}, {s: "ghu_", k: 3, group: gPrefix}, {s: "ghs_", k: 3, group: gPrefix}, {s: "ghr_", k: 3, group: gPrefix},
	{s: "github_pat_", k: 6, group: gPrefix},
	{s: "glpat-", k: 2, group: gPrefix},
	{s: "AKIA", k: 1, group: gPrefix},
	{s: "ASIA", k: 1, group: gPrefix},
	{s: "AIza", k: 2, group: gPrefix},
	// private keys
	{s: "-----BEGIN", k: 7, group: gPEMBegin},
	{s: "-----END", k: 7, group: gPEMEnd},
	// URL user-info and Discord tokens are checked around one byte.
	{s: "@", k: 0, kind: kindURL, group: gURL},
	{s: ".", k: 0, kind: kindDiscord, group: gDiscord},
}

// rule is a built-in rule: it runs only when one of the markers of its
// group is in the text (group 0: always), and returns the text with its
// secrets masked.
type rule struct {
	group uint16
	apply func(s string) string
}

// re masks group (0: the whole match) of every match of pattern.
func re(pattern string, group int) func(string) string {
	x := regexp.MustCompile(pattern)
	return func(s string) string {
		ms := x.FindAllStringSubmatchIndex(s, -1)
		spans := make([][]int, 0, len(ms))
		for _, m := range ms {
			if a, e := unquote(s, m[2*group], m[2*group+1]); a < e && s[a:e] != Mask {
				spans = append(spans, []int{a, e})
			}
		}
		return maskSpans(s, spans)
	}
}

// valueRE reads a value after a key's separator: a quoted string (quotes
// kept, escapes honoured, the escaped quotes of JSON inside JSON too), or a
// bare word up to a space or a separator. An auth scheme before it goes
// with it.
var valueRE = regexp.MustCompile(`^(?:(?i:bearer|basic|token|digest|negotiate|ntlm)[ \t]+)?` +
	`(?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|\\"(?:[^\\\n]|\\[^"\n])*\\"|\\'(?:[^\\\n]|\\[^'\n])*\\'|“[^”\n]*”|「[^」\n]*」|[^\s\x{3000},;&"'，；。、]+)`)

var builtinRules = []rule{
	// Private-key blocks, whole: to their END line, or to the end of the
	// text when it is cut.
	{gPEMBegin, re(`(?s)-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)`, 0)},
	// The end of a block whose start is not in the text (a tail).
	{gPEMEnd, re(`(?m)(?:^[A-Za-z0-9+/=]+\r?\n)+-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----`, 0)},
	// A line of a key's body on its own.
	{0, bodyLines},
	// key = value, key: value, "key": "value", 密码：value.
	{gKey, keyValues},
	// Cookie and Set-Cookie: the whole value, to the end of the line.
	{gCookie, re(`(?i)\b(?:set-)?cookie(?:\\?["'])?[ \t]*[:=][ \t]*("(?:[^"\\\n]|\\.)*"|\\"(?:[^\\\n]|\\[^"\n])*\\"|[^"\r\n]+)`, 1)},
	// scheme://user:password@ and scheme://:password@
	{gURL, userInfo},
	// A bearer token wherever it stands.
	{gBearer, re(`(?i)\bbearer[ \t]+([A-Za-z0-9._~+/-]{16,}=*)`, 1)},
	// JWTs.
	{gJWT, re(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`, 0)},
	// Tokens by their prefix: Slack, OpenAI and Anthropic, Stripe, GitHub,
	// GitLab, AWS access key ids, Google API keys.
	{gPrefix, re(`\b(?:xox[a-z]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}|sk-[A-Za-z0-9_-]{16,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|(?:AKIA|ASIA)[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35})`, 0)},
	// Discord bot tokens: the user id in base64, a timestamp, an HMAC.
	{gDiscord, re(`\b[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{25,}`, 0)},
}

// bodyLines masks lines of exactly 64 base64 characters with letters in
// both cases: lines of a private key's body (a hex digest is one case only).
func bodyLines(s string) string {
	var spans [][]int
	for start := 0; start < len(s); {
		end := strings.IndexByte(s[start:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		line := strings.TrimSuffix(s[start:end], "\r")
		if len(line) == 64 && isBodyLine(line) {
			spans = append(spans, []int{start, start + 64})
		}
		start = end + 1
	}
	return maskSpans(s, spans)
}

func isBodyLine(line string) bool {
	upper, lower := false, false
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9' || c == '+' || c == '/':
		default:
			return false
		}
	}
	return upper && lower
}

// keyValues masks the values of secret keys: after =, :, the full-width ：
// or =>, with spaces around and a closing quote of a quoted key before.
func keyValues(s string) string {
	var spans [][]int
	for i := 0; i < len(s); i++ {
		n := 0 // length of the separator at i
		switch {
		case s[i] == '=' && i+1 < len(s) && s[i+1] == '>':
			n = 2
		case s[i] == '=' || s[i] == ':':
			n = 1
		case strings.HasPrefix(s[i:], "："):
			n = len("：")
		default:
			continue
		}
		if !secretKeyBefore(s, i) {
			continue
		}
		v := i + n
		for v < len(s) {
			if s[v] == ' ' || s[v] == '\t' {
				v++
			} else if strings.HasPrefix(s[v:], "\u3000") {
				v += len("\u3000")
			} else {
				break
			}
		}
		m := valueRE.FindStringIndex(s[v:])
		if m == nil {
			continue
		}
		a, e := unquote(s, v, v+m[1])
		if a < e && s[a:e] != Mask && !isPathPWD(s, i, a) {
			spans = append(spans, []int{a, e})
		}
		i = v + m[1] - 1
	}
	return maskSpans(s, spans)
}

// keyEnd is where the key before a separator at sep ends: spaces and a
// closing quote (", ', \", ”) are skipped.
func keyEnd[T ~string | ~[]byte](s T, sep int) int {
	j := sep
	for j > 0 {
		if s[j-1] == ' ' || s[j-1] == '\t' {
			j--
		} else if j >= 3 && s[j-3] == 0xe3 && s[j-2] == 0x80 && s[j-1] == 0x80 { // U+3000
			j -= 3
		} else {
			break
		}
	}
	switch {
	case j > 0 && (s[j-1] == '"' || s[j-1] == '\''):
		j--
		if j > 0 && s[j-1] == '\\' {
			j--
		}
	case j >= 3 && s[j-3] == 0xe2 && s[j-2] == 0x80 && s[j-1] == 0x9d: // ”
		j -= 3
	}
	return j
}

// sepAfter returns where the separator after a key ending at e stands (a
// closing quote and spaces skipped), or -1 when none follows.
func sepAfter[T ~string | ~[]byte](b T, e int, fullWidth bool) int {
	j := e
	switch {
	case j+1 < len(b) && b[j] == '\\' && (b[j+1] == '"' || b[j+1] == '\''):
		j += 2
	case j < len(b) && (b[j] == '"' || b[j] == '\''):
		j++
	case j+3 <= len(b) && b[j] == 0xe2 && b[j+1] == 0x80 && b[j+2] == 0x9d: // ”
		j += 3
	}
	for j < len(b) {
		if b[j] == ' ' || b[j] == '\t' {
			j++
		} else if fullWidth && j+3 <= len(b) && b[j] == 0xe3 && b[j+1] == 0x80 && b[j+2] == 0x80 {
			j += 3
		} else {
			break
		}
	}
	switch {
	case j < len(b) && (b[j] == '=' || b[j] == ':'):
		return j
	case fullWidth && j+3 <= len(b) && b[j] == 0xef && b[j+1] == 0xbc && b[j+2] == 0x9a: // ：
		return j
	}
	return -1
}

// Keys that are secret whatever stands before them (dbpassword, csrftoken).
var secretKeys = []string{"password", "passwd", "passphrase", "secret", "token", "credential", "credentials", "authorization", "密码", "口令", "密钥", "令牌"}

// Words that make a key ending in key a secret (api_key, x-api-key, apikey).
var keyKinds = []string{"api", "access", "secret", "private", "client", "signing", "encryption", "master", "app"}

// secretKeyBefore reports whether a secret key ends where the separator at
// sep starts. pass and pwd count only as a whole key (db_pass, not bypass).
func secretKeyBefore[T ~string | ~[]byte](s T, sep int) bool {
	k := s[:keyEnd(s, sep)]
	for _, w := range secretKeys {
		if hasSuffixFold(k, w) {
			return true
		}
	}
	for _, w := range []string{"pass", "pwd"} {
		if hasSuffixFold(k, w) {
			rest := k[:len(k)-len(w)]
			var last [utf8.UTFMax]byte
			n := copy(last[:], rest[max(0, len(rest)-utf8.UTFMax):])
			r, _ := utf8.DecodeLastRune(last[:n])
			return len(rest) == 0 || !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}
	}
	if hasSuffixFold(k, "key") {
		k = k[:len(k)-3]
		if n := len(k); n > 0 && (k[n-1] == '_' || k[n-1] == '-') {
			k = k[:n-1]
		}
		for _, w := range keyKinds {
			if hasSuffixFold(k, w) {
				return true
			}
		}
	}
	return false
}

// isPathPWD: PWD holding a path is the shell's working directory, not a
// password (the key ends before sep; the value starts at a).
func isPathPWD(s string, sep, a int) bool {
	if a >= len(s) || (s[a] != '/' && s[a] != '~') {
		return false
	}
	k := s[:keyEnd(s, sep)]
	return hasSuffixFold(k, "pwd")
}

// hasSuffixFold reports whether s ends with suffix (lower case), ASCII
// letters in any case.
func hasSuffixFold[T ~string | ~[]byte](s T, suffix string) bool {
	if len(s) < len(suffix) {
		return false
	}
	s = s[len(s)-len(suffix):]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != suffix[i] {
			return false
		}
	}
	return true
}

// userInfo masks the password of scheme://user:password@ and
// scheme://:password@.
func userInfo(s string) string {
	var spans [][]int
	for from := 0; ; {
		p := strings.Index(s[from:], "://")
		if p < 0 {
			break
		}
		p += from
		from = p + 3
		if p == 0 || !schemeChar(s[p-1]) {
			continue
		}
		i := p + 3
		for i < len(s) && strings.IndexByte("/ \t\n\f\r:@", s[i]) < 0 {
			i++
		}
		if i >= len(s) || s[i] != ':' {
			continue
		}
		a := i + 1
		for i = a; i < len(s) && strings.IndexByte("/ \t\n\f\r@", s[i]) < 0; i++ {
		}
		if i < len(s) && s[i] == '@' && i > a && s[a:i] != Mask {
			spans = append(spans, []int{a, i})
		}
	}
	return maskSpans(s, spans)
}

func schemeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '-'
}

func discordAt[T ~string | ~[]byte](b T, i int) bool {
	if i+7 >= len(b) || b[i+7] != '.' || i < 24 {
		return false
	}
	for j := i + 1; j < i+7; j++ {
		if !tokenChar(b[j]) {
			return false
		}
	}
	for j := i - 24; j < i; j++ {
		if !tokenChar(b[j]) {
			return false
		}
	}
	return true
}

// Redact returns s with every secret masked.
func (r *Redactor) Redact(s string) string {
	if s == "" {
		return s
	}
	if r == nil {
		r = builtinRedactor
	}
	groups := scan(r, s, true)
	if groups&gValues != 0 {
		s = r.values(s)
	}
	for _, ru := range builtinRules {
		if ru.group == 0 || groups&ru.group != 0 {
			s = ru.apply(s)
		}
	}
	for _, x := range r.extra {
		if x.prefix != "" && !strings.Contains(s, x.prefix) {
			continue
		}
		s = maskSpans(s, outsideMasks(s, x.re.FindAllStringIndex(s, -1)))
	}
	return s
}

// unquote narrows [a, e) to the inside of its quotes, if it is quoted.
func unquote(s string, a, e int) (int, int) {
	for _, q := range [][2]string{{`\"`, `\"`}, {`\'`, `\'`}, {`"`, `"`}, {`'`, `'`}, {"“", "”"}, {"「", "」"}} {
		if e-a >= len(q[0])+len(q[1]) && strings.HasPrefix(s[a:e], q[0]) && strings.HasSuffix(s[a:e], q[1]) {
			return a + len(q[0]), e - len(q[1])
		}
	}
	return a, e
}

// values masks the configured values in every form.
func (r *Redactor) values(s string) string {
	if len(r.forms) == 0 {
		return s
	}
	var spans [][]int
	var low string
	for _, f := range r.forms {
		in := s
		if f.fold {
			if low == "" {
				low = asciiLower(s)
			}
			in = low
		}
		for i := 0; i+len(f.s) <= len(in); {
			j := strings.Index(in[i:], f.s)
			if j < 0 {
				break
			}
			spans = append(spans, []int{i + j, i + j + len(f.s)})
			i += j + 1
		}
	}
	return maskSpans(s, outsideMasks(s, spans))
}

// outsideMasks drops the spans that lie inside a mask already there, so a
// secret that happens to be part of the mask ("RED") leaves it alone.
func outsideMasks(s string, spans [][]int) [][]int {
	if len(spans) == 0 || !strings.Contains(s, Mask) {
		return spans
	}
	out := spans[:0]
	for _, sp := range spans {
		inside := false
		for i := max(0, sp[1]-len(Mask)); i <= sp[0] && i+len(Mask) <= len(s); i++ {
			if s[i:i+len(Mask)] == Mask {
				inside = true
				break
			}
		}
		if !inside && sp[1] > sp[0] {
			out = append(out, sp)
		}
	}
	return out
}

// maskSpans replaces the union of spans by one mask per run.
func maskSpans(s string, spans [][]int) string {
	if len(spans) == 0 {
		return s
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i][0] < spans[j][0] })
	var b strings.Builder
	last := 0
	for i := 0; i < len(spans); {
		a, e := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] <= e; i++ {
			e = max(e, spans[i][1])
		}
		// A span cut inside a UTF-8 sequence (a fold match never is, but
		// an extra pattern may) widens to whole characters.
		for a > 0 && !utf8.RuneStart(s[a]) {
			a--
		}
		for e < len(s) && !utf8.RuneStart(s[e]) {
			e++
		}
		if a < last {
			a = last
		}
		b.WriteString(s[last:a])
		b.WriteString(Mask)
		last = e
	}
	b.WriteString(s[last:])
	return b.String()
}

// Suspect reports whether Redact might change line: false is a promise that
// it would not, which lets a search skip redaction on almost every line. It
// looks at each byte once and stops at the first marker of a secret.
func (r *Redactor) Suspect(line []byte) bool {
	if r == nil {
		r = builtinRedactor
	}
	n := len(line)
	if n == 64 || (n == 65 && line[64] == '\r') {
		return true // maybe a line of a private key's body
	}
	for _, x := range r.extra {
		if x.prefix == "" && x.re.Match(line) {
			return true
		}
	}
	return scan(r, line, false) != 0
}

// scan finds the groups whose markers are in b: all of them, or the first.
// A newline counts as a marker when only the first is wanted (Suspect is
// for one line; a private key's block spans several).
func scan[T ~string | ~[]byte](r *Redactor, b T, all bool) uint16 {
	var groups uint16
	n := len(b)
	for i := 0; i < n; i++ {
		c := b[i]
		t := r.trig[c]
		if t == 0 {
			continue
		}
		if !r.single[c] {
			if i+1 == n {
				continue
			}
			if x := uint16(c)<<8 | uint16(b[i+1]); r.pairs[x>>3]&(1<<(x&7)) == 0 {
				continue
			}
		}
		if c == '\n' {
			if !all {
				return gNewline
			}
			continue
		}
		for j := range r.lists[t] {
			m := &r.lists[t][j]
			if groups&m.group == 0 && markerAt(m, b, i) {
				groups |= m.group
				if !all {
					return groups
				}
			}
		}
	}
	return groups
}

// markerAt reports whether m's string is in b with its byte k at i.
func markerAt[T ~string | ~[]byte](m *marker, b T, i int) bool {
	switch m.kind {
	case kindURL:
		// scheme://user:pw@: user-info holds no space and no slash, so
		// the first of either before the @ decides.
		for j := i - 1; j >= 0; j-- {
			switch b[j] {
			case ' ', '\t', '\n', '\r', '\f':
				return false
			case '/':
				return j >= 2 && b[j-1] == '/' && b[j-2] == ':'
			}
		}
		return false
	case kindDiscord:
		return discordAt(b, i)
	}
	a := i - m.k
	if a < 0 || a+len(m.s) > len(b) {
		return false
	}
	for j := 0; j < len(m.s); j++ {
		c := b[a+j]
		if m.fold && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != m.s[j] {
			return false
		}
	}
	switch m.kind {
	case kindKey:
		sep := sepAfter(b, a+len(m.s), true)
		return sep >= 0 && secretKeyBefore(b, sep)
	case kindSep:
		return sepAfter(b, a+len(m.s), false) >= 0
	}
	return true
}

func tokenChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// asciiLower lowers ASCII letters only, so offsets stay those of s.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

var (
	privateKey = []byte("PRIVATE KEY")
	pemBegin   = []byte("-----BEGIN")
	pemEnd     = []byte("-----END")
)

// KeyLines finds the lines of private-key blocks in b, a block of whole
// lines read one line at a time (a log search): each span [start, end)
// runs from the line after a BEGIN line to its END line (or the end of b),
// or, for an END line whose BEGIN lies before b, over the base64 lines
// just before it. Redact masks the BEGIN line itself; a line in a span
// shows as the mask, whatever it holds.
func (r *Redactor) KeyLines(b []byte) [][2]int {
	var out [][2]int
	for from := 0; from < len(b); {
		k := indexPrivateKey(b, from)
		if k < 0 {
			break
		}
		ls, le := lineAround(b, k)
		line := b[ls:le]
		from = le + 1
		switch bg := bytes.Index(line, pemBegin); {
		case bg >= 0:
			if bytes.Index(line[bg:], pemEnd) >= 0 {
				continue // the whole block on one line (escaped newlines)
			}
			end := len(b)
			if e := bytes.Index(b[min(le+1, len(b)):], pemEnd); e >= 0 {
				_, end = lineAround(b, le+1+e)
			}
			if le+1 < end {
				out = append(out, [2]int{le + 1, end})
			}
			from = end + 1
		case bytes.Index(line, pemEnd) >= 0:
			start := ls
			for start > 0 {
				ps, _ := lineAround(b, start-1)
				if !base64Line(b[ps : start-1]) {
					break
				}
				start = ps
			}
			out = append(out, [2]int{start, le})
		}
	}
	return out
}

// indexPrivateKey finds "PRIVATE KEY" at or after from by its V, a byte
// rare in logs (bytes.Index keys on the P of every "HTTP").
func indexPrivateKey(b []byte, from int) int {
	const v = 3 // index of the V
	for i := from + v; i < len(b); {
		j := bytes.IndexByte(b[i:], 'V')
		if j < 0 {
			return -1
		}
		i += j
		if a := i - v; a >= from && a+len(privateKey) <= len(b) && bytes.Equal(b[a:a+len(privateKey)], privateKey) {
			return a
		}
		i++
	}
	return -1
}

// lineAround returns the bounds of the line holding b[i] (no newline).
func lineAround(b []byte, i int) (int, int) {
	s := bytes.LastIndexByte(b[:i], '\n') + 1
	e := bytes.IndexByte(b[i:], '\n')
	if e < 0 {
		return s, len(b)
	}
	return s, i + e
}

func base64Line(b []byte) bool {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// Message redacts every text part of m, files included.
func (r *Redactor) Message(m Message) Message {
	m.Title = r.Redact(m.Title)
	m.Text = r.Redact(m.Text)
	m.Code = r.Redact(m.Code)
	m.Context = r.Redact(m.Context)
	if m.Page != nil {
		pg := *m.Page
		pg.Summary = r.Redact(pg.Summary)
		m.Page = &pg
	}
	if len(m.Fields) > 0 {
		fs := make([]Field, len(m.Fields))
		for i, f := range m.Fields {
			f.Value = r.Redact(f.Value)
			fs[i] = f
		}
		m.Fields = fs
	}
	if len(m.Files) > 0 {
		files := make([]File, len(m.Files))
		for i, f := range m.Files {
			// Binary attachments (a chart) are not text: rewriting their bytes
			// would corrupt them, and they carry no log text.
			if !strings.HasPrefix(f.Mime, "image/") && utf8.Valid(f.Data) {
				f.Data = []byte(r.Redact(string(f.Data)))
			}
			files[i] = f
		}
		m.Files = files
	}
	return m
}
