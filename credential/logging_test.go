package credential

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	entratest "github.com/entrakit/entrakit/httptest_fixtures"
)

type records struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *records) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *records) all(t *testing.T) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.buf.Bytes()))
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestLoggingRecordsEventsAndMetadataOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	logs := &records{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := f.cred(entratest.User{}, func(o *AuthorizationCodeOptions) { o.Logger = logger })
	get(t, c, scopes(graph))          // network
	get(t, c, scopes(graph))          // cache
	f.clock.Advance(57 * time.Minute) // within the refresh window
	f.srv.FailNext(entratest.Fault{Status: 400, Body: `{"error":"temporarily_unavailable"}`})
	get(t, c, scopes(graph)) // refresh fails; the cached token is served
	var network, cached, exchanges, warnings int
	for _, r := range logs.all(t) {
		switch r["msg"] {
		case "entrakit: token acquired":
			if r["credential"] != "AuthorizationCodeCredential" || r["tenant"] != f.srv.TenantID() || r["expires_on"] == nil || r["scopes"] == nil {
				t.Errorf("acquired record lacks fields: %v", r)
			}
			switch r["source"] {
			case "network":
				network++
			case "cache":
				cached++
			}
		case "entrakit: token request":
			exchanges++
			for _, k := range []string{"method", "host", "path", "status", "duration", "client_request_id"} {
				if _, ok := r[k]; !ok {
					t.Errorf("exchange record lacks %s: %v", k, r)
				}
			}
			if r["method"] != "POST" || r["path"] != "/"+f.srv.TenantID()+"/oauth2/v2.0/token" {
				t.Errorf("exchange record %v", r)
			}
		case "entrakit: refresh before expiry failed; using the cached token":
			warnings++
			if r["level"] != "WARN" || r["error"] == nil {
				t.Errorf("warning record %v", r)
			}
		}
	}
	if network != 1 || cached < 2 || exchanges != 2 || warnings != 1 {
		t.Errorf("network %d cached %d exchanges %d warnings %d\n%s", network, cached, exchanges, warnings, logs.buf.String())
	}
}
