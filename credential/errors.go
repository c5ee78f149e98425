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
	Message    string // what is missing and what to do, on one line
	Err        error  // the underlying cause (a settings file's read error, the secret store's), if any
}

func (e *CredentialUnavailableError) Error() string {
	return e.Credential + ": unavailable: " + e.Message
}

// Unwrap returns the underlying cause.
func (e *CredentialUnavailableError) Unwrap() error { return e.Err }

// maxServerText bounds what an error keeps of a text the server sent: Entra's IDs are GUIDs
// and its descriptions a sentence or two, so anything longer is cut (a hostile server could
// send a megabyte). Secrets the request carried were already scrubbed by oauth.Client.
const maxServerText = 1024

func bounded(text string) string {
	if len(text) > maxServerText {
		text = strings.ToValidUTF8(text[:maxServerText], "") + "..."
	}
	return text
}

// causeError adds context to a cause's message and keeps its identity for errors.Is/As.
type causeError struct {
	msg string
	err error
}

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return e.err }

// authFailed turns what oauth.Client.Exchange returned into an *AuthenticationFailedError.
func authFailed(name string, err error) error {
	e := &AuthenticationFailedError{Credential: name}
	var re *oauth.RetrieveError
	switch {
	case errors.As(err, &re):
		f := entra.ParseErrorFields(re.Body)
		e.StatusCode = re.StatusCode
		e.ErrorCode = bounded(re.ErrorCode)
		e.Description = bounded(oauth.FirstLine(re.Description))
		e.ErrorCodes = f.ErrorCodes
		e.SubError = bounded(f.SubError)
		e.Claims = bounded(f.Claims)
		e.TraceID = bounded(f.TraceID)
		e.CorrelationID = bounded(f.CorrelationID)
		e.Err = re.Err
		if e.ErrorCode == "" && re.Err == nil {
			e.Err = errors.New("unexpected response")
		}
		if re.ContentType != "" && re.Err != nil {
			e.Err = &causeError{msg: re.Err.Error() + " (content type " + strconv.Quote(bounded(re.ContentType)) + ")", err: re.Err}
		}
	default:
		e.Err = err // a network or context error: it names the endpoint, never the form
	}
	return e
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
