module github.com/entrakit/entrakit/examples/webapp

go 1.26.0

require (
	github.com/entrakit/entrakit v0.0.0
	github.com/entrakit/entrakit/redisstore v0.0.0
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/godbus/dbus/v5 v5.1.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/oauth2 v0.30.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace (
	github.com/entrakit/entrakit => ../../
	github.com/entrakit/entrakit/redisstore => ../../redisstore
)
