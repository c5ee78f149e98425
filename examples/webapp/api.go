package main

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// notesAPI is the app's protected API: it accepts an Entra access token for its audience
// (signature checked with the authority's published keys, expiry, audience, issuer) and answers
// with the caller's own notes.
type notesAPI struct {
	audience, authority, tenant string
	client                      *http.Client

	mu    sync.Mutex
	keys  map[string]*rsa.PublicKey // by kid
	notes map[string][]string       // by the user's object ID
}

type notesJSON struct {
	Owner string   `json:"owner"`
	Notes []string `json:"notes"`
}

func (api *notesAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_request"`)
		http.Error(w, "a bearer token is required", http.StatusUnauthorized)
		return
	}
	var claims struct {
		jwt.RegisteredClaims
		ObjectID string `json:"oid"`
		Username string `json:"preferred_username"`
	}
	_, err := jwt.ParseWithClaims(raw, &claims, api.key, jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(api.audience), jwt.WithExpirationRequired())
	if err == nil && (claims.ObjectID == "" || !strings.HasPrefix(claims.Issuer, api.authority+"/")) {
		err = errors.New("not a token of this authority for a user")
	}
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	api.mu.Lock()
	if _, ok := api.notes[claims.ObjectID]; !ok {
		api.notes[claims.ObjectID] = []string{"Welcome, " + claims.Username + ": this note is yours alone."}
	}
	out := notesJSON{Owner: claims.Username, Notes: api.notes[claims.ObjectID]}
	api.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// key finds the token's signing key in the authority's JWKS (fetched once, again for an
// unknown key ID).
func (api *notesAPI) key(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	api.mu.Lock()
	k := api.keys[kid]
	api.mu.Unlock()
	if k != nil {
		return k, nil
	}
	c := api.client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Get(api.authority + "/" + api.tenant + "/discovery/v2.0/keys")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, err
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	api.keys = map[string]*rsa.PublicKey{}
	for _, jk := range set.Keys {
		n, err1 := base64.RawURLEncoding.DecodeString(jk.N)
		e, err2 := base64.RawURLEncoding.DecodeString(jk.E)
		if err1 == nil && err2 == nil {
			api.keys[jk.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		}
	}
	if k := api.keys[kid]; k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("no key %q", kid)
}

// fetch reads the caller's notes with client (which adds the user's token).
func (api *notesAPI) fetch(ctx context.Context, client *http.Client, url string) (*notesJSON, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the notes API answered %s", resp.Status)
	}
	var out notesJSON
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, err
	}
	return &out, nil
}
