module github.com/entrakit/entrakit/examples/readme

go 1.26.0

// How the README tells users to depend on a clone of entrakit.
replace (
	github.com/entrakit/entrakit => ../../
	github.com/entrakit/entrakit/azsdk => ../../azsdk
	github.com/entrakit/entrakit/redisstore => ../../redisstore
)

require (
	github.com/Azure/azure-sdk-for-go/sdk/azcore v1.18.0
	github.com/entrakit/entrakit v0.0.0
	github.com/entrakit/entrakit/azsdk v0.0.0-00010101000000-000000000000
	github.com/entrakit/entrakit/redisstore v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
	golang.org/x/oauth2 v0.30.0
)

require (
	github.com/Azure/azure-sdk-for-go/sdk/internal v1.11.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/godbus/dbus/v5 v5.1.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)
