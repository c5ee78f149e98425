package entra

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

func TestParseErrorFields(t *testing.T) {
	t.Parallel()
	body := `{"error":"invalid_grant","error_description":"AADSTS50076: MFA.\r\nTrace ID: t",
		"error_codes":[50076, "x", -1],"timestamp":"2026-01-01 00:00:00Z","trace_id":"tr-1",
		"correlation_id":"co-1","suberror":"basic_action","claims":"{\"access_token\":{}}"}`
	got := ParseErrorFields([]byte(body))
	want := ErrorFields{ErrorCodes: []int{50076}, SubError: "basic_action", Claims: `{"access_token":{}}`,
		TraceID: "tr-1", CorrelationID: "co-1", Timestamp: "2026-01-01 00:00:00Z"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	for _, bad := range []string{"", "<html>", "[1]", `{"error_codes":"nope","trace_id":5}`} {
		if f := ParseErrorFields([]byte(bad)); f.TraceID != "" || f.ErrorCodes != nil {
			t.Errorf("ParseErrorFields(%q) = %+v, want zero", bad, f)
		}
	}
}

func TestClientInfo(t *testing.T) {
	t.Parallel()
	enc := base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"u-1","utid":"t-2"}`))
	ci, err := ParseClientInfo(enc)
	if err != nil || ci.HomeAccountID() != "u-1.t-2" {
		t.Fatalf("ParseClientInfo = %+v, %v", ci, err)
	}
	padded := base64.URLEncoding.EncodeToString([]byte(`{"uid":"u","utid":"t"}`))
	if ci, err := ParseClientInfo(padded); err != nil || ci.HomeAccountID() != "u.t" {
		t.Errorf("padded client_info = %+v, %v", ci, err)
	}
	for name, bad := range map[string]string{
		"not base64":     "!!!",
		"not JSON":       base64.RawURLEncoding.EncodeToString([]byte("nope")),
		"missing utid":   base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"u"}`)),
		"dot in uid":     base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"u.x","utid":"t"}`)),
		"newline in uid": base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"u\n","utid":"t"}`)),
	} {
		if _, err := ParseClientInfo(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestMergeClaims(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, claims string
		cae          bool
		want         string
		wantErr      bool
	}{
		{"no CAE sends claims verbatim", `{"id_token":{"x":1}}`, false, `{"id_token":{"x":1}}`, false},
		{"no CAE and no claims sends nothing", "", false, "", false},
		{"CAE alone", "", true, `{"access_token":{"xms_cc":{"values":["CP1"]}}}`, false},
		{"CAE keeps other members", `{"id_token":{"a":1},"access_token":{"nbf":{"essential":true,"value":"1"}}}`, true,
			`{"access_token":{"nbf":{"essential":true,"value":"1"},"xms_cc":{"values":["CP1"]}},"id_token":{"a":1}}`, false},
		{"CAE replaces an existing xms_cc", `{"access_token":{"xms_cc":{"values":["X"]}}}`, true, `{"access_token":{"xms_cc":{"values":["CP1"]}}}`, false},
		{"claims not JSON", "nope", false, "", true},
		{"claims a JSON array", "[1]", true, "", true},
		{"claims null", "null", false, "", true},
		{"two objects", "{} {}", false, "", true},
		{"a stray closing brace", "{}}", false, "", true},
		{"access_token not an object", `{"access_token":5}`, true, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MergeClaims(tc.claims, tc.cae)
			if tc.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("MergeClaims = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestParseClaimsChallenge(t *testing.T) {
	t.Parallel()
	claims := `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	b64 := base64.StdEncoding.EncodeToString([]byte(claims))
	cases := []struct {
		name, header, want string
		ok                 bool
	}{
		{"Entra challenge", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="` + b64 + `"`, claims, true},
		{"unpadded claims", `Bearer error="insufficient_claims", claims="` + strings.TrimRight(b64, "=") + `"`, claims, true},
		{"second challenge", `Basic realm="x", Bearer claims="` + b64 + `"`, claims, true},
		{"no claims", `Bearer realm="", error="invalid_token"`, "", false},
		{"not bearer", `PoP claims="` + b64 + `"`, "", false},
		{"claims not base64", `Bearer claims="%%%"`, "", false},
		{"claims not an object", `Bearer claims="` + base64.StdEncoding.EncodeToString([]byte("[1]")) + `"`, "", false},
		{"empty", "", "", false},
		{"unterminated quote", `Bearer claims="abc`, "", false},
	}
	for _, tc := range cases {
		got, ok := ParseClaimsChallenge(tc.header)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func makeJWT(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("a test key of at least 112 bits, as FIPS 140-3 requires"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWT(t *testing.T) {
	t.Parallel()
	exp := time.Unix(1_800_000_000, 0)
	tok := makeJWT(t, jwt.MapClaims{"sub": "s-1", "oid": "o", "tid": "t", "preferred_username": "a@b.c", "name": "A", "exp": exp.Unix()})
	c, err := DecodeUnverified(tok)
	want := Claims{Subject: "s-1", ObjectID: "o", TenantID: "t", PreferredUsername: "a@b.c", Name: "A", Expiry: exp}
	if err != nil || !cmp.Equal(c, want) {
		t.Fatalf("DecodeUnverified = %+v, %v", c, err)
	}
	if e, err := ExpiryFromJWT(tok); err != nil || !e.Equal(exp) {
		t.Errorf("ExpiryFromJWT = %v, %v", e, err)
	}
	if _, err := ExpiryFromJWT(makeJWT(t, jwt.MapClaims{"sub": "x"})); !errors.Is(err, ErrMalformed) {
		t.Errorf("no exp: err = %v", err)
	}
	for _, bad := range []string{"", "opaque-token", "a.b.c", strings.Repeat("a", MaxJWTSize+1)} {
		if _, err := DecodeUnverified(bad); !errors.Is(err, ErrMalformed) || strings.Contains(err.Error(), bad+"x") {
			t.Errorf("DecodeUnverified(%.20q) err = %v", bad, err)
		}
	}
}

func TestHomeAccountID(t *testing.T) {
	t.Parallel()
	ci := base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"u","utid":"t"}`))
	id := makeJWT(t, jwt.MapClaims{"sub": "subject-1", "preferred_username": "user@x"})
	if h := HomeAccountID(ci, id); h != "u.t" {
		t.Errorf("client_info wins: %q", h)
	}
	if h := HomeAccountID(ci, "not-even-a-jwt"); h != "u.t" {
		t.Errorf("with client_info the id_token is not needed: %q", h)
	}
	if h := HomeAccountID("", id); h != "subject-1" {
		t.Errorf("id_token sub fallback: %q", h)
	}
	if h := HomeAccountID("garbage", id); h != "subject-1" {
		t.Errorf("bad client_info falls back to sub: %q", h)
	}
	if h := HomeAccountID("", ""); h != "" {
		t.Errorf("nothing: %q", h)
	}
}
