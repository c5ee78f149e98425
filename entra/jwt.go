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
	Expiry            time.Time
}

// DecodeUnverified decodes a JWT's payload WITHOUT verifying its signature. Never use the
// result to decide trust; it serves to name an account and guess an expiry.
func DecodeUnverified(token string) (Claims, error) {
	if len(token) > MaxJWTSize {
		return Claims{}, fmt.Errorf("%w: JWT larger than %d bytes", ErrMalformed, MaxJWTSize)
	}
	mc := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, mc); err != nil {
		return Claims{}, fmt.Errorf("%w: not a JWT", ErrMalformed)
	}
	c := Claims{
		Subject: strClaim(mc, "sub"), ObjectID: strClaim(mc, "oid"), TenantID: strClaim(mc, "tid"),
		PreferredUsername: strClaim(mc, "preferred_username"), Name: strClaim(mc, "name"),
	}
	if f, ok := mc["exp"].(float64); ok && f > 0 && f < math.MaxInt32*4 {
		c.Expiry = time.Unix(int64(f), 0)
	}
	return c, nil
}

func strClaim(mc jwt.MapClaims, k string) string {
	s, _ := mc[k].(string)
	return s
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

// HomeAccountID names the account a token response signed in: "uid.utid" from client_info, else
// the id_token's sub (the rule MSAL and azure-identity use), else "" when neither is usable
// (docs/PROTOCOL.md#redeeming-the-code).
// It also returns the id_token's claims (zero when there is none) for display.
func HomeAccountID(clientInfo, idToken string) (string, Claims) {
	var idc Claims
	if idToken != "" {
		idc, _ = DecodeUnverified(idToken)
	}
	if clientInfo != "" {
		if ci, err := ParseClientInfo(clientInfo); err == nil {
			return ci.HomeAccountID(), idc
		}
	}
	if idc.Subject != "" && plainID(idc.Subject) {
		return idc.Subject, idc
	}
	return "", idc
}
