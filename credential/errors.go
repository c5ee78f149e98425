package credential

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/entrakit/entrakit/entra"
	"github.com/entrakit/entrakit/oauth"
)

// Troubleshooting is where every authentication error points.
const Troubleshooting = "https://github.com/entrakit/entrakit#troubleshooting"

// AuthenticationFailedError means the token endpoint said no or answered nonsense (an HTML
// proxy page, an empty or truncated body, a redirect), or could not be reached.
// It is returned as a pointer. No field ever holds a secret the request carried.
type AuthenticationFailedError struct {
	Credential    string // "AuthorizationCodeCredential", "VisualStudioCodeCredential", ...
	StatusCode    int    // 0 when no answer arrived
	ErrorCode     string // RFC 6749 error, e.g. "invalid_grant"
	Description   string // first line of error_description, no trace lines
	ErrorCodes    []int  // AADSTS numbers
	SubError      string
	Claims        string // claims challenge the server returned, if any
	TraceID       string
	CorrelationID string
	Err           error // underlying cause (network error, parse error), if any
}

func (e *AuthenticationFailedError) Error() string {
	var b strings.Builder
	b.WriteString(e.Credential)
	b.WriteString(": authentication failed")
	if e.ErrorCode != "" {
		b.WriteString(": ")
		b.WriteString(e.ErrorCode)
	}
	if len(e.ErrorCodes) > 0 && !strings.HasPrefix(e.Description, "AADSTS"+strconv.Itoa(e.ErrorCodes[0])+":") {
		b.WriteString(" (")
		for i, c := range e.ErrorCodes {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("AADSTS")
			b.WriteString(strconv.Itoa(c))
		}
		b.WriteString(")")
	}
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	var meta []string
	if e.StatusCode != 0 {
		meta = append(meta, "status "+strconv.Itoa(e.StatusCode))
	}
	if e.SubError != "" {
		meta = append(meta, "suberror "+e.SubError)
	}
	if e.TraceID != "" {
		meta = append(meta, "trace ID "+e.TraceID)
	}
	if e.CorrelationID != "" {
		meta = append(meta, "correlation ID "+e.CorrelationID)
	}
	if len(meta) > 0 {
		b.WriteString(" [")
		b.WriteString(strings.Join(meta, ", "))
		b.WriteString("]")
	}
	b.WriteString("; to troubleshoot, see ")
	b.WriteString(Troubleshooting)
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *AuthenticationFailedError) Unwrap() error { return e.Err }

// CredentialUnavailableError means the credential cannot run here at all (no VS Code sign-in,
// an unsupported cloud or tenant, ...). A chain of credentials should move on to the next.
// It is returned as a pointer.
type CredentialUnavailableError struct {
	Credential string
	Message    string
}

func (e *CredentialUnavailableError) Error() string {
	return e.Credential + ": unavailable: " + e.Message
}

const maxServerText = 1024

// scrubber removes the secrets a request carried from text a server sent back (a hostile or
// buggy server may echo them).
type scrubber []string

// clean scrubs the secrets from text, then bounds its length: Entra's IDs are GUIDs and its
// descriptions a sentence or two, so anything longer is cut (a hostile server could send a
// megabyte). Scrubbing comes first so that a cut can never leave part of a secret.
func (s scrubber) clean(text string) string {
	for _, secret := range s {
		if len(secret) >= 4 && strings.Contains(text, secret) {
			text = strings.ReplaceAll(text, secret, "[REDACTED]")
		}
	}
	if len(text) > maxServerText {
		text = strings.ToValidUTF8(text[:maxServerText], "") + "..."
	}
	return text
}

// redactedError keeps a cause's identity for errors.Is/As while scrubbing its message.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// authFailed turns what oauth.Client.Exchange returned into an *AuthenticationFailedError.
func authFailed(name string, err error, secrets scrubber) error {
	e := &AuthenticationFailedError{Credential: name}
	var re *oauth.RetrieveError
	switch {
	case errors.As(err, &re):
		f := entra.ParseErrorFields(re.Body)
		e.StatusCode = re.StatusCode
		e.ErrorCode = secrets.clean(re.ErrorCode)
		e.Description = secrets.clean(oauth.FirstLine(re.Description))
		e.ErrorCodes = f.ErrorCodes
		e.SubError = secrets.clean(f.SubError)
		e.Claims = secrets.clean(f.Claims)
		e.TraceID = secrets.clean(f.TraceID)
		e.CorrelationID = secrets.clean(f.CorrelationID)
		if re.Err != nil {
			e.Err = re.Err
		}
		if e.ErrorCode == "" && re.Err == nil {
			e.Err = errors.New("unexpected response")
		}
		if re.ContentType != "" && re.Err != nil {
			e.Err = &redactedError{msg: re.Err.Error() + " (content type " + strconv.Quote(secrets.clean(re.ContentType)) + ")", err: re.Err}
		}
	default:
		e.Err = &redactedError{msg: secrets.clean(err.Error()), err: err}
	}
	return e
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
