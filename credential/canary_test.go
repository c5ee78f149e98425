package credential

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/oauth"
)

// Canary secrets: none of them may appear in an error, a log record or a printed value.
const (
	canaryClientSecret = "CANARYclientsecret0001"
	canaryCode         = "CANARYauthcode0002"
	canaryVerifier     = "CANARYverifier0003-abcdefghijklmnopqrstuvwxyz"
	canaryAccess       = "CANARYaccesstoken0004"
	canaryRefresh      = "CANARYrefreshtoken0005"
	canaryRefresh2     = "CANARYrefreshtoken0006"
	canaryRefreshInput = "CANARYrefreshinput0007"
)

var canaryIDToken = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." +
	base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"subject-1","preferred_username":"user@x"}`)) + ".CANARYidtokensig0008"

// hostile answers according to mode, echoing every form value it receives into every field it
// can, the way a malicious or broken server might.
type hostile struct {
	mu   sync.Mutex
	mode string
}

func (h *hostile) set(m string) { h.mu.Lock(); h.mode = m; h.mu.Unlock() }

func (h *hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	var echo strings.Builder
	for _, vs := range r.PostForm {
		for _, v := range vs {
			echo.WriteString(v + " ")
		}
	}
	e := echo.String()
	h.mu.Lock()
	mode := h.mode
	h.mu.Unlock()
	switch mode {
	case "echo":
		b, _ := json.Marshal(map[string]any{"error": "invalid_grant " + e, "error_description": e + "\r\nTrace ID: " + e,
			"error_codes": []int{70008}, "suberror": e, "claims": e, "trace_id": e, "correlation_id": e, "timestamp": e})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write(b)
	case "escaped":
		// Each echoed value with its first letter as a \u escape: the raw bytes hide it.
		var esc strings.Builder
		for _, vs := range r.PostForm {
			for _, v := range vs {
				if v != "" {
					fmt.Fprintf(&esc, "\\u%04x%s ", v[0], v[1:])
				}
			}
		}
		x := esc.String()
		body := `{"error":"invalid_grant","error_description":"` + x + `","error_codes":[70008],"suberror":"` + x +
			`","claims":"` + x + `","trace_id":"` + x + `","correlation_id":"` + x + `","` + x + `":"a member named so"}`
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(body))
	case "html":
		w.Header().Set("Content-Type", "text/html; "+strings.ReplaceAll(e, " ", "_"))
		w.Header().Set("Retry-After-Ms", "1")
		w.WriteHeader(502)
		_, _ = w.Write([]byte("<html>" + e + "</html>"))
	case "malformed":
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"access_token":"` + strings.ReplaceAll(e, " ", "") + `","expires_in":`))
	case "badtoken":
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"access_token":"` + e + `\n","expires_in":3600}`))
	case "noexpiry":
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"access_token":"` + canaryAccess + `","refresh_token":"` + canaryRefresh + `"}`))
	case "redirect":
		http.Redirect(w, r, "https://127.0.0.1:1/"+strings.ReplaceAll(e, " ", "/"), http.StatusTemporaryRedirect)
	case "success":
		rt := canaryRefresh
		if r.PostForm.Get("grant_type") == "refresh_token" {
			rt = canaryRefresh2
		}
		b, _ := json.Marshal(map[string]any{"access_token": canaryAccess, "token_type": "Bearer", "expires_in": 3600,
			"refresh_token": rt, "id_token": canaryIDToken})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}
}

func TestCanarySecretsNeverLeak(t *testing.T) {
	t.Parallel()
	h := &hostile{}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	var logs strings.Builder
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var printed []string
	var logged strings.Builder
	jsonLogger := slog.New(slog.NewJSONHandler(&logged, nil))
	check := func(label string, vs ...any) {
		t.Helper()
		for _, v := range vs {
			for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
				s := fmt.Sprintf(f, v)
				printed = append(printed, s)
				if strings.Contains(s, "CANARY") {
					t.Errorf("%s: %s prints a secret: %s", label, f, s)
				}
			}
			if err, ok := v.(error); ok && strings.Contains(err.Error(), "CANARY") {
				t.Errorf("%s: error string has a secret: %s", label, err)
			}
			// Logged as a value, by slog's JSON handler: redacted, access tokens included.
			logged.Reset()
			jsonLogger.Info("value", "v", v)
			if strings.Contains(logged.String(), "CANARY") {
				t.Errorf("%s: slog.JSONHandler logs a secret: %s", label, logged.String())
			}
			// Marshalled to JSON: only AccessToken and AccessTokenInfo carry their access token,
			// by design; nothing carries another secret.
			if b, err := json.Marshal(v); err == nil {
				s := string(b)
				switch v.(type) {
				case AccessToken, *AccessToken, AccessTokenInfo, *AccessTokenInfo:
					s = strings.ReplaceAll(s, canaryAccess, "")
				}
				if strings.Contains(s, "CANARY") {
					t.Errorf("%s: json.Marshal gives a secret: %s", label, b)
				}
			}
		}
	}

	// Every exchange also goes through the protocol tracer, which must redact all of it.
	var traced strings.Builder
	tracedClient := &http.Client{Transport: &oauth.Trace{Base: srv.Client().Transport, Out: &lockedWriter{w: &traced, mu: &logMu}}}
	shared, _ := cache.New(nil)
	opts := &AuthorizationCodeOptions{ClientSecret: canaryClientSecret, CodeVerifier: canaryVerifier, AuthorityHost: srv.URL,
		HTTPClient: tracedClient, Logger: logger, Cache: shared}
	c, err := NewAuthorizationCode("tenant", testClient, canaryCode, testRedirect, opts)
	if err != nil {
		t.Fatal(err)
	}
	check("options", opts, *opts)
	tokenResponse, _ := oauth.ParseToken([]byte(`{"access_token":"`+canaryAccess+`","refresh_token":"`+canaryRefresh+`","id_token":"`+canaryIDToken+`","expires_in":60}`), time.Now())
	check("oauth values", tokenResponse, *tokenResponse,
		oauth.AuthCodeGrant{ClientID: "c", Code: canaryCode, CodeVerifier: canaryVerifier, ClientSecret: canaryClientSecret},
		oauth.RefreshGrant{ClientID: "c", RefreshToken: canaryRefresh, ClientSecret: canaryClientSecret},
		RefreshTokenOptions{ClientSecret: canaryClientSecret})
	for _, mode := range []string{"echo", "escaped", "html", "malformed", "badtoken", "redirect", "noexpiry"} {
		h.set(mode)
		_, err := c.GetToken(context.Background(), TokenRequestOptions{Scopes: []string{graph}, Claims: `{"id_token":{}}`})
		if err == nil {
			t.Fatalf("redemption in mode %s succeeded", mode)
		}
		check("redemption error in mode "+mode, err, c)
	}
	h.set("success")
	info, err := c.GetTokenInfo(context.Background(), scopes(graph))
	if err != nil || info.Token != canaryAccess {
		t.Fatalf("success: %v %v", info, err)
	}
	tok := get(t, c, scopes(graph))
	check("returned values", info, &info, tok, &tok, c, shared)
	for _, mode := range []string{"echo", "escaped", "html", "malformed", "badtoken", "redirect"} {
		h.set(mode)
		_, err := c.GetToken(context.Background(), scopes(vault))
		if err == nil {
			t.Fatalf("refresh in mode %s succeeded", mode)
		}
		check("refresh error in mode "+mode, err)
	}

	rc, err := NewRefreshToken("tenant", testClient, canaryRefreshInput, &RefreshTokenOptions{ClientSecret: canaryClientSecret,
		AuthorityHost: srv.URL, HTTPClient: srv.Client(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	check("refresh token credential", rc, RefreshTokenOptions{ClientSecret: canaryClientSecret})
	h.set("echo")
	_, err = rc.GetToken(context.Background(), scopes(graph))
	check("refresh token credential error", err)

	// Constructor errors never quote the secret they reject.
	_, err = NewAuthorizationCode("tenant", testClient, "CANARY code", testRedirect, nil)
	check("bad code", err)
	_, err = NewAuthorizationCode("tenant", testClient, "c", testRedirect, &AuthorizationCodeOptions{CodeVerifier: "CANARYshort"})
	check("bad verifier", err)
	_, err = NewRefreshToken("tenant", testClient, "CANARY rt", nil)
	check("bad refresh token", err)
	_ = c.Close()
	_, err = c.GetToken(context.Background(), scopes(graph))
	check("closed", err)

	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "token request") || !strings.Contains(logs.String(), "token acquired") {
		t.Errorf("the logger saw no exchange or acquisition; the test proves nothing:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "CANARY") {
		t.Errorf("a secret reached the log:\n%s", logs.String())
	}
	if !strings.Contains(traced.String(), "<refresh_token: ") || !strings.Contains(traced.String(), "<client_secret: ") {
		t.Errorf("the trace shows no redacted exchange; the test proves nothing:\n%.2000s", traced.String())
	}
	for _, line := range strings.Split(traced.String(), "\n") {
		if strings.Contains(line, "CANARY") {
			t.Errorf("a secret reached the trace: %.300s", line)
		}
	}
	if len(printed) < 50 {
		t.Errorf("only %d printed values checked", len(printed))
	}
}

type lockedWriter struct {
	w  *strings.Builder
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
