package entra

import (
	"encoding/json"
	"testing"
)

func FuzzParseErrorFields(f *testing.F) {
	f.Add([]byte(`{"error":"invalid_grant","error_codes":[50076],"suberror":"basic_action","claims":"{}","trace_id":"t","correlation_id":"c"}`))
	f.Add([]byte(`{"error_codes":[1e999,"x",-5,null]}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fields := ParseErrorFields(body)
		if len(fields.ErrorCodes) > 16 {
			t.Fatalf("%d error codes kept", len(fields.ErrorCodes))
		}
		for _, c := range fields.ErrorCodes {
			if c < 0 {
				t.Fatalf("negative code %d", c)
			}
		}
	})
}

func FuzzParseClientInfo(f *testing.F) {
	f.Add("eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ")
	f.Add("eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ==")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, s string) {
		ci, err := ParseClientInfo(s)
		if err == nil && (!plainID(ci.UID) || !plainID(ci.UTID) || ci.UID == "" || ci.UTID == "") {
			t.Fatalf("accepted %+v", ci)
		}
	})
}

func FuzzDecodeUnverified(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzIiwiZXhwIjoxODAwMDAwMDAwfQ.c2ln")
	f.Add("a.b.c")
	f.Add("...")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeUnverified(s)
		if err == nil && !c.Expiry.IsZero() && c.Expiry.Unix() <= 0 {
			t.Fatalf("nonsense expiry %v", c.Expiry)
		}
	})
}

// FuzzMergeClaims: the result is always a JSON object, and with CAE it always holds CP1.
func FuzzMergeClaims(f *testing.F) {
	f.Add(`{"access_token":{"nbf":{"essential":true}}}`, true)
	f.Add(`{"id_token":{}}`, false)
	f.Add(`[]`, true)
	f.Add(``, true)
	f.Fuzz(func(t *testing.T, claims string, cae bool) {
		out, err := MergeClaims(claims, cae)
		if err != nil || out == "" {
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(out), &m) != nil || m == nil {
			t.Fatalf("MergeClaims(%q) = %q, not a JSON object", claims, out)
		}
		if cae {
			var at struct {
				XMSCC struct{ Values []string } `json:"xms_cc"`
			}
			if json.Unmarshal(m["access_token"], &at) != nil || len(at.XMSCC.Values) != 1 || at.XMSCC.Values[0] != "CP1" {
				t.Fatalf("CAE merge lost CP1: %q", out)
			}
		}
	})
}

func FuzzParseClaimsChallenge(f *testing.F) {
	f.Add(`Bearer realm="", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnt9fQ=="`)
	f.Add(`Basic realm="x", Bearer claims="e30"`)
	f.Add(`Bearer claims="`)
	f.Fuzz(func(t *testing.T, h string) {
		claims, ok := ParseClaimsChallenge(h)
		if ok && ValidateClaims(claims) != nil {
			t.Fatalf("returned claims that are not an object: %q", claims)
		}
	})
}
