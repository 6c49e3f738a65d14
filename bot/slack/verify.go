package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"opsbot/bot/inbound"
	"strconv"
	"strings"
	"time"
)

// Slack's request-signing scheme (https://api.slack.com/authentication/verifying-requests-from-slack).
const (
	headerSignature = "X-Slack-Signature"
	headerTimestamp = "X-Slack-Request-Timestamp"
	// signatureWindow is how far a request's timestamp may be from our clock.
	signatureWindow = 5 * time.Minute
	// replayCacheSize bounds the memory of seen signatures: about 200
	// requests a second for the whole ten minutes a signature stays valid.
	replayCacheSize = 120_000
)

var (
	errNoSecret     = errors.New("no signing secret configured")
	errMissing      = errors.New("missing signature headers")
	errBadTimestamp = errors.New("bad timestamp")
	errStale        = errors.New("timestamp outside the 5-minute window")
	errBadSignature = errors.New("signature mismatch")
	errReplay       = errors.New("signature seen before (replay)")
)

// Sign returns the v0 signature Slack sends for body at timestamp ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// verifier checks signatures with an injectable clock and refuses a
// signature it has already accepted (slack-go's verifier does neither).
type verifier struct {
	secret func() string
	now    func() time.Time
	seen   *inbound.Replay
}

func newVerifier(secret func() string, now func() time.Time) *verifier {
	return &verifier{
		secret: secret,
		now:    now,
		// A signature is acceptable for a window either side of its
		// timestamp, so it is remembered for both halves.
		seen: inbound.NewReplay(replayCacheSize, 2*signatureWindow),
	}
}

// check verifies the headers against the raw body and records the signature.
func (v *verifier) check(h http.Header, body []byte) error {
	secret := v.secret()
	if secret == "" {
		return errNoSecret
	}
	sig, tsText := h.Get(headerSignature), h.Get(headerTimestamp)
	if sig == "" || tsText == "" {
		return errMissing
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return errBadTimestamp
	}
	if d := v.now().Sub(time.Unix(ts, 0)); d > signatureWindow || d < -signatureWindow {
		return errStale
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return errBadSignature
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return errBadSignature
	}
	// The MAC covers the header's own text, as Slack computed it.
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + tsText + ":"))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errBadSignature
	}
	if v.seen.Seen(string(got)) {
		return errReplay
	}
	return nil
}
