// Package interop tests entrakit's OAuth 2.0 core (package oauth) against an authorization
// server that nobody here wrote: zitadel/oidc's example OpenID provider, run in-process over
// loopback TLS. It is a nested module so that zitadel's dependencies never reach entrakit's.
package interop
