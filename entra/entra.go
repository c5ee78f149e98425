// Package entra holds what is specific to Microsoft Entra ID on top of OAuth 2.0: the extra
// fields of its error responses (AADSTS error codes, trace and correlation IDs, suberror,
// claims), client_info (the account's home IDs), the continuous access evaluation (CAE) claims
// merge, WWW-Authenticate claims challenges, and decoding of JWTs for display and expiry hints.
//
// Sources: Microsoft identity platform documentation on error codes, client_info and claims
// challenges; see docs/PROTOCOL.md for the walkthrough.
//
// # Security considerations
//
// JWTs are decoded without verifying their signatures (golang-jwt's ParseUnverified): the
// claims read here are used only to name an account and to guess an expiry the server did not
// state, never to decide whether anything is trusted. Parsers here never put their input in an
// error message.
package entra

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is wrapped by every parse error of this package.
var ErrMalformed = errors.New("entra: malformed value")

// ErrorFields are the Entra-specific fields of a token endpoint error body, beyond RFC 6749's
// (https://learn.microsoft.com/entra/identity-platform/reference-error-codes;
// docs/PROTOCOL.md#errors).
type ErrorFields struct {
	ErrorCodes    []int  // AADSTS numbers, e.g. 70008
	SubError      string // e.g. "basic_action", "bad_token"
	Claims        string // a claims challenge to send back with the next request
	TraceID       string
	CorrelationID string
	Timestamp     string
}

// ParseErrorFields reads the Entra fields of an error body. A body that is not a JSON object, or
// fields of the wrong type, give zero fields: the caller already has the RFC 6749 ones.
func ParseErrorFields(body []byte) ErrorFields {
	var w struct {
		ErrorCodes    []json.RawMessage `json:"error_codes"`
		SubError      json.RawMessage   `json:"suberror"`
		Claims        json.RawMessage   `json:"claims"`
		TraceID       json.RawMessage   `json:"trace_id"`
		CorrelationID json.RawMessage   `json:"correlation_id"`
		Timestamp     json.RawMessage   `json:"timestamp"`
	}
	if json.Unmarshal(body, &w) != nil {
		return ErrorFields{}
	}
	f := ErrorFields{
		SubError: str(w.SubError), Claims: str(w.Claims), TraceID: str(w.TraceID),
		CorrelationID: str(w.CorrelationID), Timestamp: str(w.Timestamp),
	}
	for _, raw := range w.ErrorCodes {
		var n int
		if json.Unmarshal(raw, &n) == nil && n >= 0 {
			f.ErrorCodes = append(f.ErrorCodes, n)
		}
		if len(f.ErrorCodes) == 16 {
			break
		}
	}
	return f
}

// str returns a JSON string's value, or "" for anything else.
func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// ClientInfo is Entra's client_info: the account's object ID and home tenant ID, returned when
// the token request sends client_info=1 (docs/PROTOCOL.md#redeeming-the-code).
type ClientInfo struct {
	UID  string `json:"uid"`
	UTID string `json:"utid"`
}

// HomeAccountID is "uid.utid", the key MSAL and azure-identity use for an account.
func (c ClientInfo) HomeAccountID() string { return c.UID + "." + c.UTID }

// ParseClientInfo decodes client_info (base64url of a JSON object, padded or not).
func ParseClientInfo(s string) (ClientInfo, error) {
	b, err := decodeSegment(s)
	if err != nil {
		return ClientInfo{}, fmt.Errorf("%w: client_info is not base64url", ErrMalformed)
	}
	var ci ClientInfo
	if err := json.Unmarshal(b, &ci); err != nil {
		return ClientInfo{}, fmt.Errorf("%w: client_info is not a JSON object", ErrMalformed)
	}
	if ci.UID == "" || ci.UTID == "" || !plainID(ci.UID) || !plainID(ci.UTID) {
		return ClientInfo{}, fmt.Errorf("%w: client_info lacks uid or utid", ErrMalformed)
	}
	return ci, nil
}

// plainID accepts the characters of GUIDs and similar IDs, so that a home account ID can never
// hold separators or control characters.
func plainID(s string) bool {
	if len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func decodeSegment(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	return base64.RawURLEncoding.DecodeString(s)
}
