package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
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
// It holds secrets: printed (Format), logged (LogValue) or marshalled to JSON, they are left out.
type Token struct {
	AccessToken  string    `json:"-"`
	TokenType    string    // "Bearer" when the server sent none
	ExpiresOn    time.Time // zero when the response had neither expires_on nor expires_in
	RefreshOn    time.Time // zero when the server gave no refresh hint and none applies
	RefreshToken string    `json:"-"` // empty when the server sent none
	IDToken      string    `json:"-"`
	ClientInfo   string    // Entra's base64url {"uid","utid"}; see package entra
	Scope        string
	RequestTime  time.Time // when the request that produced it was sent

	refreshIn time.Duration // -1 when absent
}

// SetExpiresOn sets the expiry (used when the response had none and the caller derived it, e.g.
// from the access token's JWT exp) and applies the refresh rule: refresh_on is the request time
// plus refresh_in when the server sent it, else half the lifetime when that is at least 2 hours.
//
// Times are kept without a monotonic clock reading, so they compare on the wall clock: a
// monotonic clock stops while a machine sleeps, and a token must not look fresh after a
// suspend longer than its life.
func (t *Token) SetExpiresOn(exp time.Time) {
	exp = exp.Round(0)
	t.RequestTime = t.RequestTime.Round(0)
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

// LogValue logs the token with its secrets replaced by their lengths.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_token", redacted(t.AccessToken)), slog.String("token_type", t.TokenType),
		slog.Time("expires_on", t.ExpiresOn), slog.String("refresh_token", redacted(t.RefreshToken)),
		slog.String("id_token", redacted(t.IDToken)), slog.String("scope", t.Scope))
}

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED " + strconv.Itoa(len(s)) + " bytes]"
}

// The members of a token endpoint answer that entrakit reads: RFC 6749 sections 5.1 and 5.2,
// with Entra's expires_on, refresh_in and client_info. Any other member is ignored.
const (
	mAccessToken = iota
	mTokenType
	mExpiresIn
	mExpiresOn
	mRefreshIn
	mRefreshToken
	mIDToken
	mClientInfo
	mScope
	mError
	mErrorDescription
	mErrorURI
	nMembers
)

var memberNames = [nMembers]string{"access_token", "token_type", "expires_in", "expires_on", "refresh_in",
	"refresh_token", "id_token", "client_info", "scope", "error", "error_description", "error_uri"}

// answer holds the raw values of the members read, from one pass over the body.
type answer [nMembers][]byte

// readAnswer reads the members of a token endpoint answer in one pass. Member names are
// matched exactly (RFC 6749 section 5.1); a member given twice, or a name that differs from one
// of ours only in case ("Access_Token"), makes the answer ambiguous (parsers disagree on which
// copy wins, and a client must not guess), and it is refused.
func readAnswer(body []byte) (answer, error) {
	var a answer
	if !json.Valid(body) {
		return a, fmt.Errorf("%w: %v", ErrMalformedResponse, jsonErrorSummary(json.Unmarshal(body, new(any))))
	}
	var seen uint16
	err := eachMember(body, func(name, value []byte) error {
		for i, k := range memberNames {
			if len(name) != len(k) {
				continue
			}
			if string(name) != k {
				if strings.EqualFold(string(name), k) {
					return fmt.Errorf("%w: the member %q differs from %q only in case", ErrMalformedResponse, truncateName(name), k)
				}
				continue
			}
			if seen&(1<<i) != 0 {
				return fmt.Errorf("%w: the member %q appears twice", ErrMalformedResponse, k)
			}
			seen |= 1 << i
			a[i] = value
			return nil
		}
		return nil
	})
	if errors.Is(err, errNotObject) {
		err = fmt.Errorf("%w: not a JSON object", ErrMalformedResponse)
	}
	return a, err
}

func truncateName(name []byte) string {
	if len(name) > 32 {
		name = name[:32]
	}
	return string(name)
}

// str returns member i as a string: "" when absent or null, an error naming the member when it
// is another JSON type.
func (a *answer) str(i int) (string, error) {
	raw := a[i]
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	s, ok := stringValue(raw)
	if !ok {
		return "", fmt.Errorf("%w: %s is not a string", ErrMalformedResponse, memberNames[i])
	}
	return s, nil
}

// errorCode returns the RFC 6749 section 5.2 "error" when the answer is an error response.
func (a *answer) errorCode() string {
	s, _ := a.str(mError)
	return s
}

// ParseToken parses a successful token response body (RFC 6749 section 5.1;
// docs/PROTOCOL.md#redeeming-the-code). requestTime is when the request was sent:
// expires_in and refresh_in count from it. Rules: expires_on wins over expires_in; both may be
// JSON numbers or numeric strings; token_type defaults to Bearer. An access token must be an
// RFC 6750 b64token, so it can never smuggle a header line. Member names are matched exactly,
// and an ambiguous body (a member twice, or differing only in case) is refused.
func ParseToken(body []byte, requestTime time.Time) (*Token, error) {
	a, err := readAnswer(body)
	if err != nil {
		return nil, err
	}
	return a.token(requestTime)
}

// stringMembers are the string members of a successful answer; the three after the first two
// must be printable ASCII.
var stringMembers = [...]int{mAccessToken, mTokenType, mRefreshToken, mIDToken, mClientInfo, mScope}

func (a *answer) token(requestTime time.Time) (*Token, error) {
	var f [nMembers]string
	for _, i := range stringMembers {
		s, err := a.str(i)
		if err != nil {
			return nil, err
		}
		f[i] = s
	}
	if f[mAccessToken] == "" {
		return nil, fmt.Errorf("%w: no access_token", ErrMalformedResponse)
	}
	if !IsBearerToken(f[mAccessToken]) {
		return nil, fmt.Errorf("%w: access_token is not an RFC 6750 b64token", ErrMalformedResponse)
	}
	for _, i := range stringMembers[2:5] {
		if !isVisibleASCII(f[i]) {
			return nil, fmt.Errorf("%w: %s has characters outside printable ASCII", ErrMalformedResponse, memberNames[i])
		}
	}
	requestTime = requestTime.Round(0) // expiry is compared on the wall clock (see SetExpiresOn)
	t := &Token{
		AccessToken:  f[mAccessToken],
		TokenType:    f[mTokenType],
		RefreshToken: f[mRefreshToken],
		IDToken:      f[mIDToken],
		ClientInfo:   f[mClientInfo],
		Scope:        f[mScope],
		RequestTime:  requestTime,
		refreshIn:    -1,
	}
	if t.TokenType == "" {
		t.TokenType = "Bearer" // RFC 6749 section 7.1; Entra always sends it
	} else if !isToken68Word(t.TokenType) {
		return nil, fmt.Errorf("%w: token_type is not a word", ErrMalformedResponse)
	}
	if ri, ok, err := parseSeconds(a[mRefreshIn]); err != nil {
		return nil, fmt.Errorf("%w: refresh_in: %v", ErrMalformedResponse, err)
	} else if ok {
		t.refreshIn = ri
	}
	on, hasOn, err := parseSeconds(a[mExpiresOn])
	if err != nil {
		return nil, fmt.Errorf("%w: expires_on: %v", ErrMalformedResponse, err)
	}
	in, hasIn, err := parseSeconds(a[mExpiresIn])
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
func parseSeconds(raw []byte) (d time.Duration, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	if raw[0] == '"' {
		s, isString := stringValue(raw)
		if !isString {
			return 0, false, errors.New("not a string")
		}
		raw = []byte(s)
	}
	negative := false
	if len(raw) > 0 && (raw[0] == '-' || raw[0] == '+') {
		negative, raw = raw[0] == '-', raw[1:]
	}
	if len(raw) == 0 {
		return 0, false, errors.New("not a whole number of seconds")
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false, errors.New("not a whole number of seconds")
		}
		if n > 1<<40 { // ~34,000 years: beyond any epoch time; keeps Duration arithmetic safe
			return 0, false, errors.New("out of range")
		}
		n = n*10 + int64(c-'0')
	}
	switch {
	case negative && n != 0:
		return 0, false, errors.New("negative")
	case n > 1<<40:
		return 0, false, errors.New("out of range")
	}
	return time.Duration(n) * time.Second, true, nil
}

// IsBearerToken reports whether s matches RFC 6750 section 2.1's b64token,
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=": a value that can follow
// "Bearer " in an Authorization header without smuggling anything else into it.
func IsBearerToken(s string) bool {
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
