package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/edgeai-go/edgeai/internal/audit"
	"github.com/edgeai-go/edgeai/internal/testutil"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files
// and returns their paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "edgeai test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

var listenTLSRE = regexp.MustCompile(`listening on https://([0-9.:]+)`)

// TestServeTLSAudit runs edgeai serve with TLS, a pinned model and a keyed
// audit log with a checkpoint; talks to it over HTTPS; checks TLS 1.2 as
// the floor and plain HTTP refused; then verifies the audit log with the
// key and the checkpoint.
func TestServeTLSAudit(t *testing.T) {
	model := testutil.Stories(t)
	sum := fileSHA256(t, model)
	certFile, keyFile, pool := selfSigned(t)
	dir := t.TempDir()
	logPath, cpPath, akey := filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "audit.cp"), filepath.Join(dir, "audit.key")
	os.WriteFile(akey, []byte("00112233445566778899aabbccddeeff\n"), 0o600)
	keyFile2 := filepath.Join(dir, "api-key")
	os.WriteFile(keyFile2, []byte("tls-test-key\n"), 0o600) // as systemd's LoadCredential hands it over
	t.Setenv("EDGEAI_API_KEY", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"-m", "tiny=" + model, "--addr", "127.0.0.1:0", "--chat-template", "chatml", "--temp", "0",
			"--tls-cert", certFile, "--tls-key", keyFile, "--model-sha256", "tiny=" + sum, "--api-key-file", keyFile2,
			"--audit-log", logPath, "--audit-key-file", akey, "--audit-checkpoint", cpPath}, io.Discard, &stderr)
	}()
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == ""; time.Sleep(5 * time.Millisecond) {
		if m := listenTLSRE.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen:\n%s", stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "WARNING") {
		t.Errorf("a warning on loopback with TLS:\n%s", stderr.String())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 20 * time.Second}
	req, _ := http.NewRequest(http.MethodPost, "https://"+addr+"/v1/chat/completions",
		strings.NewReader(`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":4}`))
	req.Header.Set("Authorization", "Bearer tls-test-key")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("HTTPS chat: %d %s", resp.StatusCode, b)
	}
	t.Logf("HTTPS chat: %s, %s", tls.VersionName(resp.TLS.Version), tls.CipherSuiteName(resp.TLS.CipherSuite))
	if resp, err := client.Get("https://" + addr + "/"); err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("the page over HTTPS: %v %v", resp, err)
	}
	// TLS 1.1 and plain HTTP are refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get("https://" + addr + "/health"); err == nil {
		t.Error("a TLS 1.1 client was served")
	}
	if resp, err := http.Get("http://" + addr + "/health"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP was served on the TLS port")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	key, _ := audit.ReadKeyFile(akey)
	cp, err := audit.ReadCheckpoint(cpPath, key)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*audit.Record
	s, err := audit.VerifyFileWith(logPath, audit.VerifyOptions{Key: key, Checkpoint: cp}, func(r *audit.Record) { recs = append(recs, r) })
	if err != nil || s.Records != 1 || !s.Keyed {
		t.Fatalf("audit log: %+v, %v", s, err)
	}
	r := recs[0]
	if r.Type != "serve" || r.Endpoint != "POST /v1/chat/completions" || r.Status != 200 || r.Model != "tiny" || r.ModelSHA256 != sum ||
		r.KeyID == "" || strings.Contains(r.KeyID, "tls-test-key") || r.GeneratedTokens != 4 || r.PromptSHA256 == "" || r.ResponseSHA256 == "" || r.Prompt != nil {
		t.Errorf("record %+v", r)
	}
	raw, _ := os.ReadFile(logPath)
	if strings.Contains(string(raw), "tls-test-key") || strings.Contains(string(raw), `"hi"`) {
		t.Errorf("the log holds the key or the text: %s", raw)
	}
}

func TestServeSafety(t *testing.T) {
	model := testutil.Stories(t)
	t.Setenv("EDGEAI_API_KEY", "")
	// Beyond loopback without a key: refused before anything listens.
	err := runServe(context.Background(), []string{"-m", model, "--addr", "0.0.0.0:0"}, io.Discard, io.Discard)
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--no-auth") {
		t.Errorf("0.0.0.0 without a key: %v", err)
	}
	// A wrong pin refuses to load.
	err = runServe(context.Background(), []string{"-m", model, "--addr", "127.0.0.1:0", "--model-sha256", strings.Repeat("ab", 32)}, io.Discard, io.Discard)
	if !errors.Is(err, errModelHash) {
		t.Errorf("wrong pin: %v", err)
	}
	for _, args := range [][]string{
		{"-m", model, "--tls-cert", "x.pem"},
		{"-m", model, "-m", "b=" + model, "--model-sha256", strings.Repeat("ab", 32)},
		{"-m", model, "--model-sha256", "zz"},
		{"-m", model, "--audit-key-file", "k"},
	} {
		if err := runServe(context.Background(), append(args, "--addr", "127.0.0.1:0"), io.Discard, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	// --api-key-file: excludes --api-key; an empty file is refused.
	kf := filepath.Join(t.TempDir(), "key")
	os.WriteFile(kf, []byte("\n"), 0o600)
	if err := runServe(context.Background(), []string{"-m", model, "--addr", "127.0.0.1:0", "--api-key-file", kf}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty key file: %v", err)
	}
	if err := runServe(context.Background(), []string{"-m", model, "--api-key", "a", "--api-key-file", kf}, io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("--api-key with --api-key-file: %v", err)
	}
	for addr, warn := range map[string]bool{"127.0.0.1:8080": false, "[::1]:1": false, "192.168.1.5:8443": true, "0.0.0.0:8080": true} {
		w := clearTextWarning(addr, false)
		if (w != "") != warn || (warn && !strings.Contains(w, "in clear")) {
			t.Errorf("%s: %q", addr, w)
		}
		if clearTextWarning(addr, true) != "" {
			t.Errorf("%s with TLS: a warning", addr)
		}
	}
}
