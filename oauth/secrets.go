package oauth

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// secretFields are the form fields, query parameters and JSON members that hold secrets.
var secretFields = []string{"code", "code_verifier", "client_secret", "client_assertion", "refresh_token",
	"access_token", "id_token", "password", "assertion", "session_state"}

// isSecretField matches names ignoring case: the parser refuses an answer with a member named
// like one of ours in another case, and the tracer redacts such a member, whatever its case.
func isSecretField(name string) bool {
	return slices.ContainsFunc(secretFields, func(f string) bool { return strings.EqualFold(f, name) })
}

// collectSecrets adds the secret values of v to into (value -> field name).
func collectSecrets(into map[string]string, v url.Values) {
	for k, vs := range v {
		if isSecretField(k) {
			for _, s := range vs {
				into[s] = k
			}
		}
	}
}

// scrub replaces every secret in sent (value -> field name), raw or escaped, wherever it
// appears in text: a hostile or broken server may echo what a request carried in any field or
// header of its answer.
func scrub(text string, sent map[string]string) string {
	for secret, name := range sent {
		if len(secret) < 4 {
			continue
		}
		escaped, _ := json.Marshal(secret)
		for _, form := range []string{secret, strings.Trim(string(escaped), `"`), url.QueryEscape(secret), url.PathEscape(secret)} {
			text = strings.ReplaceAll(text, form, "<echoed "+name+">")
		}
	}
	return text
}
