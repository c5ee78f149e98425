package redisstore_test

import (
	"context"
	"fmt"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/entrakit/entrakit/cache"
	"github.com/entrakit/entrakit/credential"
	"github.com/entrakit/entrakit/redisstore"
)

// Every instance of a fleet builds its cache on the same Redis and the same sealing key (here
// a mounted Kubernetes secret); then an account signed in on one instance is served by all,
// and its refresh token is redeemed by one instance at a time.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	store, err := redisstore.New(rdb, &redisstore.Options{
		Keys: []cache.KeySource{cache.KeyFromFile("/var/run/secrets/myapp/cache-key")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tokens, _ := cache.New(&cache.Options{Store: store})

	// On any instance, for a user signed in on any instance:
	cred, _ := credential.NewFromCache("contoso.onmicrosoft.com", "my-app-id", "uid.utid",
		&credential.RefreshTokenOptions{Cache: tokens, ClientSecret: os.Getenv("MYAPP_SECRET")})
	_, _ = cred.GetToken(context.Background(), credential.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}})
}
