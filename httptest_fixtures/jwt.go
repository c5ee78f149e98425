package entratest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"sync"
)

// The signing key is made once per process: RSA key generation is slow, and tests start many
// servers. Its key ID is stable within the process.
var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
	keyID   string
)

func signingKey() (*rsa.PrivateKey, string) {
	keyOnce.Do(func() {
		var err error
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("entratest: generating an RSA key: " + err.Error())
		}
		sum := sha256.Sum256(key.PublicKey.N.Bytes())
		keyID = base64.RawURLEncoding.EncodeToString(sum[:12])
	})
	return key, keyID
}

// signJWT returns an RS256 JWS (RFC 7515 compact serialisation) of claims.
func signJWT(claims map[string]any) string {
	k, kid := signingKey()
	h, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": kid})
	p, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("entratest: signing: %v", err))
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// keys serves the JWKS with the signing key, so tests may verify the fake's tokens.
func (s *Handler) keys(w http.ResponseWriter, r *http.Request) {
	if !s.knownTenant(w, r) {
		return
	}
	k, kid := signingKey()
	e := big.NewInt(int64(k.PublicKey.E)).Bytes()
	s.writeJSON(w, r, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": base64.RawURLEncoding.EncodeToString(k.PublicKey.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(e),
	}}})
}

// PublicKey returns the key that signs the fake's tokens.
func PublicKey() *rsa.PublicKey {
	k, _ := signingKey()
	return &k.PublicKey
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// discovery serves the OpenID Connect metadata (OpenID Connect Discovery 1.0) that MSAL-based
// clients read; the issuer matches the authority, as MSAL requires.
func (s *Handler) discovery(w http.ResponseWriter, r *http.Request) {
	if !s.knownTenant(w, r) {
		return
	}
	tenant := r.PathValue("tenant")
	s.mu.Lock()
	base := s.baseURLLocked(r) + "/" + tenant
	s.mu.Unlock()
	s.writeJSON(w, r, http.StatusOK, map[string]any{
		"issuer":                                base + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post"},
	})
}

// knownTenant answers a metadata request for a tenant the fake does not know as Entra does (400
// invalid_tenant, AADSTS90002) and reports whether the tenant is known.
func (s *Handler) knownTenant(w http.ResponseWriter, r *http.Request) bool {
	tenant := r.PathValue("tenant")
	s.mu.Lock()
	if s.tenants[tenant] {
		s.mu.Unlock()
		return true
	}
	status, body := s.errorBody(r, errDiscoveryTenant(tenant))
	s.mu.Unlock()
	s.writeJSON(w, r, status, body)
	return false
}
