package entra

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// ErrInvalidClaims is wrapped when a claims value is not a JSON object.
var ErrInvalidClaims = fmt.Errorf("%w: claims must be a JSON object", ErrMalformed)

// ValidateClaims checks that claims is empty or a single JSON object (OpenID Connect Core
// section 5.5, the "claims" request parameter).
func ValidateClaims(claims string) error {
	if claims == "" {
		return nil
	}
	_, err := decodeObject(claims)
	return err
}

// decodeObject accepts exactly one JSON object (json.Valid rejects trailing data, which
// Decoder.More does not see when it is a stray '}' or ']').
func decodeObject(s string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if !json.Valid([]byte(s)) || json.Unmarshal([]byte(s), &m) != nil || m == nil {
		return nil, ErrInvalidClaims
	}
	return m, nil
}

// cp1 is the client capability "CP1": the client handles claims challenges, so Entra may issue
// long-lived CAE tokens and revoke them early
// (https://learn.microsoft.com/entra/identity-platform/app-resilience-continuous-access-evaluation;
// docs/PROTOCOL.md#continuous-access-evaluation-and-claims-challenges).
var cp1 = json.RawMessage(`{"values":["CP1"]}`)

// MergeClaims returns the claims to send. Without CAE it is claims verbatim. With CAE it adds
// the client capability to the caller's claims, keeping all their other members:
// {"access_token":{"xms_cc":{"values":["CP1"]}}} merged into claims (any xms_cc is replaced).
func MergeClaims(claims string, enableCAE bool) (string, error) {
	if !enableCAE {
		return claims, ValidateClaims(claims)
	}
	if claims == "" {
		return `{"access_token":{"xms_cc":{"values":["CP1"]}}}`, nil
	}
	m, err := decodeObject(claims)
	if err != nil {
		return "", err
	}
	at := map[string]json.RawMessage{}
	if raw, ok := m["access_token"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		if json.Unmarshal(raw, &at) != nil || at == nil {
			return "", fmt.Errorf("%w: claims member access_token must be an object", ErrMalformed)
		}
	}
	at["xms_cc"] = cp1
	b, err := json.Marshal(at)
	if err != nil {
		return "", ErrInvalidClaims
	}
	m["access_token"] = b
	out, err := json.Marshal(m)
	if err != nil {
		return "", ErrInvalidClaims
	}
	return string(out), nil
}

// ParseClaimsChallenge extracts the claims from a WWW-Authenticate header of a 401 answer that
// carries an Entra claims challenge (RFC 6750 section 3;
// https://learn.microsoft.com/entra/identity-platform/claims-challenge), e.g.
//
//	Bearer realm="", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsi..."
//
// It returns the decoded claims JSON and true, or "" and false when the header has no usable
// challenge (no Bearer scheme, no claims parameter, or claims that do not decode to an object).
func ParseClaimsChallenge(header string) (string, bool) {
	for _, ch := range splitChallenges(header) {
		if !strings.EqualFold(ch.scheme, "Bearer") {
			continue
		}
		raw, ok := ch.params["claims"]
		if !ok || raw == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(raw, "="))
		}
		if err != nil {
			b, err = decodeSegment(raw)
		}
		if err != nil || ValidateClaims(string(b)) != nil {
			return "", false
		}
		return string(b), true
	}
	return "", false
}

type challenge struct {
	scheme string
	params map[string]string
}

// splitChallenges parses RFC 9110 section 11.6.1 challenges: scheme followed by
// comma-separated auth-params, values as tokens or quoted strings.
func splitChallenges(h string) []challenge {
	var out []challenge
	i := 0
	for i < len(h) && len(h) <= 16<<10 {
		for i < len(h) && (h[i] == ' ' || h[i] == ',' || h[i] == '\t') {
			i++
		}
		start := i
		for i < len(h) && h[i] != ' ' && h[i] != ',' && h[i] != '\t' {
			i++
		}
		if start == i {
			break
		}
		ch := challenge{scheme: h[start:i], params: map[string]string{}}
		for {
			j := i
			for j < len(h) && (h[j] == ' ' || h[j] == '\t' || h[j] == ',') {
				j++
			}
			k := j
			for k < len(h) && h[k] != '=' && h[k] != ' ' && h[k] != ',' {
				k++
			}
			if k >= len(h) || h[k] != '=' || k == j {
				i = j
				break // not a param: the next challenge begins at j
			}
			name := strings.ToLower(h[j:k])
			k++
			var val string
			if k < len(h) && h[k] == '"' {
				var b strings.Builder
				k++
				for k < len(h) && h[k] != '"' {
					if h[k] == '\\' && k+1 < len(h) {
						k++
					}
					b.WriteByte(h[k])
					k++
				}
				k++ // closing quote
				val = b.String()
			} else {
				e := k
				for e < len(h) && h[e] != ',' && h[e] != ' ' {
					e++
				}
				val = h[k:e]
				k = e
			}
			ch.params[name] = val
			i = min(k, len(h))
		}
		out = append(out, ch)
	}
	return out
}
