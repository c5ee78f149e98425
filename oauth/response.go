package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// MaxLifetime bounds the lifetime a token response may claim. Entra's access tokens live about
// an hour (up to 28 hours with CAE); anything past a year is nonsense and would overflow
// arithmetic on hostile input.
const MaxLifetime = 366 * 24 * time.Hour

// ErrMalformedResponse is wrapped by every error about a successful-looking response that cannot
// be used.
var ErrMalformedResponse = errors.New("oauth: malformed token response")

// Token is a parsed successful token response (RFC 6749 section 5.1, with Entra's extra fields).
// It holds secrets: never log or print it. Its Format method redacts them.
type Token struct {
	AccessToken  string
	TokenType    string    // "Bearer" when the server sent none
	ExpiresOn    time.Time // zero when the response had neither expires_on nor expires_in
	RefreshOn    time.Time // zero when the server gave no refresh hint and none applies
	RefreshToken string    // empty when the server sent none
	IDToken      string
	ClientInfo   string // Entra's base64url {"uid","utid"}; see package entra
	Scope        string
	RequestTime  time.Time // when the request that produced it was sent

	refreshIn time.Duration // -1 when absent
}

// SetExpiresOn sets the expiry (used when the response had none and the caller derived it, e.g.
// from the access token's JWT exp) and applies the refresh rule: refresh_on is the request time
// plus refresh_in when the server sent it, else half the lifetime when that is at least 2 hours.
func (t *Token) SetExpiresOn(exp time.Time) {
	t.ExpiresOn = exp
	t.RefreshOn = time.Time{}
	if t.refreshIn >= 0 {
		t.RefreshOn = t.RequestTime.Add(t.refreshIn)
		return
	}
	if life := exp.Sub(t.RequestTime); life >= 2*time.Hour {
		t.RefreshOn = t.RequestTime.Add(life / 2)
	}
}

// Format prints the token with its secrets replaced by their lengths.
func (t Token) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "oauth.Token{AccessToken:%s TokenType:%s ExpiresOn:%s RefreshOn:%s RefreshToken:%s IDToken:%s Scope:%q}",
		redacted(t.AccessToken), t.TokenType, t.ExpiresOn.Format(time.RFC3339), t.RefreshOn.Format(time.RFC3339),
		redacted(t.RefreshToken), redacted(t.IDToken), t.Scope)
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED " + strconv.Itoa(len(s)) + " bytes]"
}

type wireToken struct {
	AccessToken  *string         `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	ExpiresOn    json.RawMessage `json:"expires_on"`
	RefreshIn    json.RawMessage `json:"refresh_in"`
	RefreshToken string          `json:"refresh_token"`
	IDToken      string          `json:"id_token"`
	ClientInfo   string          `json:"client_info"`
	Scope        string          `json:"scope"`
}

// ParseToken parses a successful token response body (RFC 6749 section 5.1;
// docs/PROTOCOL.md#redeeming-the-code). requestTime is when the request was sent:
// expires_in and refresh_in count from it. Rules (DESIGN section 3): expires_on wins over
// expires_in; both may be JSON numbers or numeric strings; token_type defaults to Bearer. An
// access token must be an RFC 6750 b64token, so it can never smuggle a header line.
func ParseToken(body []byte, requestTime time.Time) (*Token, error) {
	var w wireToken
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedResponse, jsonErrorSummary(err))
	}
	if dup := duplicateKey(body); dup != "" {
		// Parsers disagree on which copy wins; a client must not guess (parser differential).
		return nil, fmt.Errorf("%w: the member %q appears twice", ErrMalformedResponse, dup)
	}
	if w.AccessToken == nil || *w.AccessToken == "" {
		return nil, fmt.Errorf("%w: no access_token", ErrMalformedResponse)
	}
	if !isB64Token(*w.AccessToken) {
		return nil, fmt.Errorf("%w: access_token is not an RFC 6750 b64token", ErrMalformedResponse)
	}
	for name, v := range map[string]string{"refresh_token": w.RefreshToken, "id_token": w.IDToken, "client_info": w.ClientInfo} {
		if !isVisibleASCII(v) {
			return nil, fmt.Errorf("%w: %s has characters outside printable ASCII", ErrMalformedResponse, name)
		}
	}
	t := &Token{
		AccessToken:  *w.AccessToken,
		TokenType:    w.TokenType,
		RefreshToken: w.RefreshToken,
		IDToken:      w.IDToken,
		ClientInfo:   w.ClientInfo,
		Scope:        w.Scope,
		RequestTime:  requestTime,
		refreshIn:    -1,
	}
	if t.TokenType == "" {
		t.TokenType = "Bearer" // RFC 6749 section 7.1; Entra always sends it
	} else if !isToken68Word(t.TokenType) {
		return nil, fmt.Errorf("%w: token_type is not a word", ErrMalformedResponse)
	}
	if ri, ok, err := parseSeconds(w.RefreshIn); err != nil {
		return nil, fmt.Errorf("%w: refresh_in: %v", ErrMalformedResponse, err)
	} else if ok {
		t.refreshIn = ri
	}
	on, hasOn, err := parseSeconds(w.ExpiresOn)
	if err != nil {
		return nil, fmt.Errorf("%w: expires_on: %v", ErrMalformedResponse, err)
	}
	in, hasIn, err := parseSeconds(w.ExpiresIn)
	if err != nil {
		return nil, fmt.Errorf("%w: expires_in: %v", ErrMalformedResponse, err)
	}
	switch {
	case hasOn: // Entra's absolute expiry wins over expires_in
		exp := time.Unix(int64(on/time.Second), 0)
		if !exp.After(requestTime) {
			return nil, fmt.Errorf("%w: expires_on is not in the future", ErrMalformedResponse)
		}
		if exp.Sub(requestTime) > MaxLifetime {
			return nil, fmt.Errorf("%w: expires_on is implausibly far in the future", ErrMalformedResponse)
		}
		t.SetExpiresOn(exp)
	case hasIn:
		if in <= 0 {
			return nil, fmt.Errorf("%w: expires_in must be positive", ErrMalformedResponse)
		}
		if in > MaxLifetime {
			return nil, fmt.Errorf("%w: expires_in is implausibly large", ErrMalformedResponse)
		}
		t.SetExpiresOn(requestTime.Add(in))
	}
	return t, nil
}

// parseSeconds reads a JSON number or numeric string of whole seconds. Absent or null fields
// report ok=false. Negative values, fractions and values too large for time arithmetic are
// errors; callers apply their own plausibility limits.
func parseSeconds(raw json.RawMessage) (d time.Duration, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false, errors.New("not a string")
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, errors.New("not a whole number of seconds")
	}
	if n < 0 {
		return 0, false, errors.New("negative")
	}
	if n > 1<<40 { // ~34,000 years: beyond any epoch time; keeps Duration arithmetic safe
		return 0, false, errors.New("out of range")
	}
	return time.Duration(n) * time.Second, true, nil
}

// isB64Token reports whether s matches RFC 6750 section 2.1's b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

func isToken68Word(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isVisibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// jsonErrorSummary describes a JSON error without quoting the input (which may hold a secret).
func jsonErrorSummary(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "invalid JSON at byte " + strconv.FormatInt(syn.Offset, 10)
	case errors.As(err, &typ):
		return "field " + strconv.Quote(typ.Field) + " has JSON type " + typ.Value + ", want " + typ.Type.String()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or truncated JSON"
	default:
		return "invalid JSON"
	}
}

// duplicateKey returns a top-level member name that occurs twice in a JSON object (already
// known to be valid), or "". Names are those of the token response, so at most a few dozen.
func duplicateKey(body []byte) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		name, _ := t.(string)
		if seen[name] {
			if len(name) > 32 {
				name = name[:32]
			}
			return name
		}
		seen[name] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}
