package entra

import (
	"fmt"
	"math"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxJWTSize bounds the tokens decoded here; Entra's are a few KiB.
const MaxJWTSize = 64 << 10

// Claims are the JWT claims entrakit reads, for display and expiry hints only.
type Claims struct {
	Subject           string // sub
	ObjectID          string // oid
	TenantID          string // tid
	PreferredUsername string // preferred_username
	Name              string // name
	Nonce             string // nonce (an id_token's echo of the authorize request's)
	Expiry            time.Time
}

// jwtClaims are the members entrakit reads, decoded straight into fields (no map).
type jwtClaims struct {
	jwt.RegisteredClaims
	ObjectID          string `json:"oid"`
	TenantID          string `json:"tid"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
	Nonce             string `json:"nonce"`
}

// DecodeUnverified decodes a JWT's payload WITHOUT verifying its signature. Never use the
// result to decide trust; it serves to name an account and guess an expiry.
func DecodeUnverified(token string) (Claims, error) {
	if len(token) > MaxJWTSize {
		return Claims{}, fmt.Errorf("%w: JWT larger than %d bytes", ErrMalformed, MaxJWTSize)
	}
	var jc jwtClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &jc); err != nil {
		return Claims{}, fmt.Errorf("%w: not a JWT", ErrMalformed)
	}
	c := Claims{Subject: jc.Subject, ObjectID: jc.ObjectID, TenantID: jc.TenantID, PreferredUsername: jc.PreferredUsername, Name: jc.Name, Nonce: jc.Nonce}
	if jc.ExpiresAt != nil {
		if exp := jc.ExpiresAt.Time; exp.Unix() > 0 && exp.Unix() < math.MaxInt32*4 {
			c.Expiry = time.Unix(exp.Unix(), 0)
		}
	}
	return c, nil
}

// ExpiryFromJWT returns the exp claim of an access token that is a JWT, for responses that
// state no expiry. The token is not verified.
func ExpiryFromJWT(token string) (time.Time, error) {
	c, err := DecodeUnverified(token)
	if err != nil {
		return time.Time{}, err
	}
	if c.Expiry.IsZero() {
		return time.Time{}, fmt.Errorf("%w: JWT has no exp claim", ErrMalformed)
	}
	return c.Expiry, nil
}

// HomeAccountID names the account a token response signed in: "uid.utid" from client_info,
// else the id_token's sub (the rule MSAL and azure-identity use), else "" when neither is
// usable (docs/PROTOCOL.md#redeeming-the-code). The id_token is decoded only when client_info
// does not name the account.
func HomeAccountID(clientInfo, idToken string) string {
	if clientInfo != "" {
		if ci, err := ParseClientInfo(clientInfo); err == nil {
			return ci.HomeAccountID()
		}
	}
	if idToken != "" {
		if c, err := DecodeUnverified(idToken); err == nil && c.Subject != "" && plainID(c.Subject) {
			return c.Subject
		}
	}
	return ""
}
