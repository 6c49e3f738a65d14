package security

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/ops/watch"
)

func write(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

func TestWorldWritable(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "app", "main.py"), 0o777)
	write(t, filepath.Join(root, "app", "ok.py"), 0o755)
	write(t, filepath.Join(root, "app", "notes.txt"), 0o666)
	write(t, filepath.Join(root, "deep", "a", "b.py"), 0o646)
	outside := t.TempDir()
	write(t, filepath.Join(outside, "evil.py"), 0o777)
	if err := os.Symlink(outside, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := WorldWritable(ctx, []string{root}, []string{"*.py"})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range got {
		paths = append(paths, f.Labels["path"])
		if f.Rule != "world_writable" || f.Severity != Warning {
			t.Errorf("finding %+v", f)
		}
	}
	want := []string{filepath.Join(root, "app", "main.py"), filepath.Join(root, "deep", "a", "b.py")}
	if fmt.Sprint(paths) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", paths, want)
	}
	// Without globs every file counts; a missing root is an error that does
	// not hide the others' findings.
	got, err = WorldWritable(ctx, []string{filepath.Join(root, "nope"), root}, nil)
	if err == nil || !strings.Contains(err.Error(), "nope") || len(got) != 3 {
		t.Fatalf("got %d findings, err %v", len(got), err)
	}
}

func TestWorldWritableCapped(t *testing.T) {
	root := t.TempDir()
	for i := range MaxPerRoot + 7 {
		write(t, filepath.Join(root, fmt.Sprintf("f%03d.py", i)), 0o777)
	}
	got, err := WorldWritable(context.Background(), []string{root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != MaxPerRoot+1 || got[MaxPerRoot].Value != 7 || got[MaxPerRoot].Labels["root"] != root {
		t.Fatalf("%d findings, last %+v", len(got), got[len(got)-1])
	}
}

func TestEnvReadable(t *testing.T) {
	dir := t.TempDir()
	open, closed := filepath.Join(dir, "a", ".env"), filepath.Join(dir, "b", ".env")
	write(t, open, 0o644)
	write(t, closed, 0o600)
	got, err := EnvReadable([]string{open, closed, filepath.Join(dir, "c", ".env")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Labels["path"] != open || got[0].Severity != Critical || !strings.Contains(got[0].Summary, "0644") {
		t.Fatalf("got %+v", got)
	}
	if err := os.Chmod(open, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := EnvReadable([]string{open}); len(got) != 0 {
		t.Fatalf("fixed file still reported: %+v", got)
	}
}

// tlsServer serves TLS with a freshly generated certificate valid until
// notAfter.
func tlsServer(t *testing.T, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "backend.test"},
		NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter,
		DNSNames: []string{"backend.test"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestTLSExpiry(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	fine := tlsServer(t, now.Add(60*24*time.Hour))
	soon := tlsServer(t, now.Add(10*24*time.Hour))
	near := tlsServer(t, now.Add(2*24*time.Hour))
	gone := tlsServer(t, now.Add(-time.Hour))
	// A port nobody listens on.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "https://" + l.Addr().String()
	l.Close()
	opts := TLSOptions{Warn: 14 * 24 * time.Hour, Critical: 3 * 24 * time.Hour, Timeout: 2 * time.Second}
	got, err := TLSExpiry(context.Background(), []string{fine, soon, near, gone, dead}, now, opts)
	if err == nil || !strings.Contains(err.Error(), dead) {
		t.Fatalf("unreachable URL not reported: %v", err)
	}
	sev := map[string]string{}
	for _, f := range got {
		sev[f.Labels["url"]] = f.Severity
	}
	if len(got) != 3 || sev[soon] != Warning || sev[near] != Critical || sev[gone] != Critical {
		t.Fatalf("got %+v", got)
	}
	for _, f := range got {
		if f.Labels["url"] == gone && !strings.Contains(f.Summary, "expired") {
			t.Errorf("expired summary: %s", f.Summary)
		}
		if f.Labels["url"] == soon && (f.Value != 10 || !strings.Contains(f.Summary, "backend.test")) {
			t.Errorf("soon: %+v", f)
		}
	}
	if _, err := TLSExpiry(context.Background(), []string{"http://plain"}, now, opts); err == nil {
		t.Fatal("http URL accepted")
	}
}

func TestFromLogs(t *testing.T) {
	th := Thresholds{LoginFailed: 50, LoginFailedPerIP: 10, RequestsPerIP: 1000, Window: time.Hour}
	s := watch.Snapshot{Target: "api", HasSecurity: true, HasAccess: true, LoginFailed: 51,
		LoginByIP:    map[string]int64{"203.0.113.5": 11, "203.0.113.6": 10},
		RequestsByIP: map[string]int64{"10.0.0.9": 1001, "10.0.0.8": 1000}}
	got := FromLogs(s, th)
	var keys []string
	for _, f := range got {
		keys = append(keys, f.Rule+":"+f.Labels["ip"])
		if f.Target != "api" {
			t.Errorf("target %q", f.Target)
		}
	}
	if fmt.Sprint(keys) != "[login_failed_burst: login_failed_ip:203.0.113.5 request_rate_ip:10.0.0.9]" {
		t.Fatalf("got %v", keys)
	}
	s.HasSecurity, s.HasAccess = false, false
	if got := FromLogs(s, th); len(got) != 0 {
		t.Fatalf("unreadable logs gave findings: %+v", got)
	}
}
