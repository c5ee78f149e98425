package oauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Trace is an http.RoundTripper that writes each exchange to Out, for people learning the
// protocol and for debugging: method, URL, the headers that matter, the form fields and the
// JSON response, with every secret value (codes, verifiers, client secrets, tokens, passwords)
// replaced by a placeholder that keeps its shape, such as <refresh_token: 212 chars>, and JWT
// payloads shown decoded. Use it as the Transport of the HTTPClient given to a credential:
//
//	hc := &http.Client{Transport: &oauth.Trace{Out: os.Stderr}}
//
// The decoded JWT claims are printed unverified, for reading only. Claims values such as names
// and e-mail addresses are personal data: keep traces where the tokens' owners would want them.
type Trace struct {
	Base http.RoundTripper // nil means http.DefaultTransport
	Out  io.Writer         // where the trace goes
	// Notes, when set, is called before each exchange to print a heading (the demo names its
	// steps with it). It may return "".
	Notes func() string

	mu sync.Mutex
}

// shownHeaders are the headers worth reading in a protocol trace.
var shownHeaders = []string{"Content-Type", "Accept", "Authorization", "Client-Request-Id", "Return-Client-Request-Id",
	"Location", "Www-Authenticate", "Retry-After", "Retry-After-Ms", "X-Ms-Retry-After-Ms"}

// maxTracedBody bounds what the trace reads and prints of one body.
const maxTracedBody = 1 << 20

// RoundTrip implements http.RoundTripper.
func (t *Trace) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	var b strings.Builder
	if t.Notes != nil {
		if n := t.Notes(); n != "" {
			fmt.Fprintf(&b, "\n### %s\n", n)
		}
	}
	fmt.Fprintf(&b, "--> %s %s\n", req.Method, redactURL(req.URL))
	writeHeaders(&b, req.Header)
	// The secret values this request carries (value -> field name): a server may echo them
	// anywhere in its answer.
	sent := map[string]string{}
	collectSecrets(sent, req.URL.Query())
	if scheme, cred, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok && scheme != "" {
		sent[cred] = "access_token"
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			data, _ := io.ReadAll(io.LimitReader(body, maxTracedBody))
			body.Close()
			writeBody(&b, req.Header.Get("Content-Type"), data)
			if form, err := url.ParseQuery(string(data)); err == nil {
				collectSecrets(sent, form)
			}
		}
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		fmt.Fprintf(&b, "<-- error: %v\n", err)
		t.write(scrub(b.String(), sent))
		return nil, err
	}
	fmt.Fprintf(&b, "<-- %s\n", resp.Status)
	writeHeaders(&b, resp.Header)
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxTracedBody+1))
	writeBody(&b, resp.Header.Get("Content-Type"), data)
	var members map[string]any
	if json.Unmarshal(data, &members) == nil {
		for k, v := range members {
			if s, ok := v.(string); ok && isSecretField(k) {
				sent[s] = k // tokens issued here, should they appear elsewhere too
			}
		}
	}
	t.write(scrub(b.String(), sent))
	// Hand the body on unchanged: the bytes read, then the rest of a body longer than the trace
	// shows, or the read error replayed.
	rest := io.Reader(errReader{rerr})
	if rerr == nil && len(data) > maxTracedBody {
		rest = resp.Body
	}
	resp.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(data), rest), Closer: resp.Body}
	return resp, nil
}

// replayBody is a response body handed on by the trace: what it read, then the original body,
// which its Close closes.
type replayBody struct {
	io.Reader
	io.Closer
}

func (t *Trace) write(s string) {
	if t.Out == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = io.WriteString(t.Out, s)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// placeholder stands for a secret: its name and length and, for the tokens and codes a server
// issues, a short digest, so that a reader sees when one is replaced by another (a rotated
// refresh token) without learning anything of it. Chosen secrets (client secrets, verifiers,
// passwords) get no digest: a short one could help test guesses of a weak one.
func placeholder(name, value string) string {
	switch strings.ToLower(name) {
	case "refresh_token", "access_token", "id_token", "code":
		sum := sha256.Sum256([]byte(value))
		return fmt.Sprintf("<%s: %d chars, #%x>", name, len(value), sum[:3])
	}
	return fmt.Sprintf("<%s: %d chars>", name, len(value))
}

func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = redactQuery(c.Query())
	}
	// A fragment carries secrets too: the implicit and hybrid flows answer with
	// #code=...&access_token=... in a Location header. Its members are redacted by the rule of
	// the query; one that does not parse as a form is not shown.
	if c.Fragment != "" || c.RawFragment != "" {
		frag, err := url.ParseQuery(c.EscapedFragment())
		if err == nil {
			c.Fragment, c.RawFragment = redactQuery(frag), ""
		} else {
			c.Fragment, c.RawFragment = fmt.Sprintf("<fragment: %d chars>", len(c.EscapedFragment())), ""
		}
	}
	s := c.String()
	s, _ = url.PathUnescape(s) // placeholders read better unescaped
	return s
}

func redactQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			if isSecretField(k) {
				v = placeholder(k, v)
			}
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, "&")
}

func writeHeaders(b *strings.Builder, h http.Header) {
	for _, k := range shownHeaders {
		for _, v := range h.Values(k) {
			switch k {
			case "Authorization":
				if scheme, cred, ok := strings.Cut(v, " "); ok {
					v = scheme + " " + placeholder("access_token", cred)
				} else {
					v = placeholder("authorization", v)
				}
			case "Location":
				if u, err := url.Parse(v); err == nil {
					v = redactURL(u)
				} else {
					v = fmt.Sprintf("<location that does not parse: %d chars>", len(v))
				}
			}
			fmt.Fprintf(b, "    %s: %s\n", k, v)
		}
	}
}

func writeBody(b *strings.Builder, contentType string, data []byte) {
	if len(data) == 0 {
		return
	}
	if len(data) > maxTracedBody {
		fmt.Fprintf(b, "    <body over %d bytes, not shown>\n", maxTracedBody)
		return
	}
	switch {
	case strings.HasPrefix(contentType, "application/x-www-form-urlencoded"):
		form, err := url.ParseQuery(string(data))
		if err != nil {
			fmt.Fprintf(b, "    <form of %d bytes that does not parse>\n", len(data))
			return
		}
		for _, line := range strings.Split(redactQuery(form), "&") {
			fmt.Fprintf(b, "    %s\n", line)
		}
	case strings.Contains(contentType, "json"):
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			fmt.Fprintf(b, "    <JSON of %d bytes that does not parse>\n", len(data))
			return
		}
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false) // placeholders are <...>
		enc.SetIndent("    ", "  ")
		_ = enc.Encode(redactJSON(v))
		fmt.Fprintf(b, "    %s", out.String())
	default:
		fmt.Fprintf(b, "    <%d bytes of %s, not shown>\n", len(data), strings.TrimSpace(contentType))
	}
}

// redactJSON replaces secret members with placeholders; a JWT-valued one also gets its payload
// decoded beside it ("access_token (payload)"), and client_info is shown decoded.
func redactJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			s, isString := val.(string)
			switch {
			case isString && isSecretField(k):
				out[k] = placeholder(k, s)
				if payload, ok := jwtPayload(s); ok {
					out[k+" (payload)"] = payload
				}
			case isString && k == "client_info":
				out[k] = s
				if d, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "=")); err == nil {
					var ci any
					if json.Unmarshal(d, &ci) == nil {
						out[k+" (decoded)"] = ci
					}
				}
			default:
				out[k] = redactJSON(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactJSON(e)
		}
		return out
	default:
		return v
	}
}

// jwtPayload decodes the payload of a compact JWS, without verifying it.
func jwtPayload(s string) (any, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, false
	}
	d, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(d, &claims) != nil {
		return nil, false
	}
	return claims, true
}
