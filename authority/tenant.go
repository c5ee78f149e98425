package authority

import (
	"errors"
	"fmt"
	"slices"
)

// Well-known tenants.
const (
	Organizations = "organizations" // any work or school account
	Common        = "common"        // work, school and personal accounts
	Consumers     = "consumers"     // personal Microsoft accounts
	ADFS          = "adfs"          // Active Directory Federation Services (no multi-tenant)
)

// EnvDisableMultiTenantAuth, when set to any non-empty value, pins every request to the
// credential's own tenant, as in azure-identity.
const EnvDisableMultiTenantAuth = "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH"

// MaxTenantIDLength bounds a tenant ID: a GUID is 36 bytes and a DNS name at most 253.
const MaxTenantIDLength = 253

// ErrInvalidTenant is wrapped by every error about a malformed tenant ID.
var ErrInvalidTenant = errors.New("authority: invalid tenant ID")

// ErrTenantNotAllowed is wrapped by the error of a request for a tenant the credential may not use.
var ErrTenantNotAllowed = errors.New("authority: tenant not allowed")

// ValidateTenantID checks that t is a GUID or a domain name: letters, digits and hyphens in
// dot-separated labels, with no empty label and at most [MaxTenantIDLength] bytes. So "..",
// "a/b", "%2e%2e", an empty string and non-ASCII letters are all rejected. The error wraps
// [ErrInvalidTenant] and points to where a tenant ID can be found.
func ValidateTenantID(t string) error {
	if len(t) > MaxTenantIDLength || !validLabels(t, MaxTenantIDLength) {
		shown := t
		if len(shown) > 64 {
			shown = shown[:64] + "..."
		}
		return fmt.Errorf("%w %q: a tenant ID is a GUID or a domain name (letters, digits, hyphens and dots); "+
			"you can locate it by following https://learn.microsoft.com/partner-center/find-ids-and-domain-names",
			ErrInvalidTenant, shown)
	}
	return nil
}

// ResolveTenant decides which tenant a request uses, following azure-identity's rules in order
// (docs/PROTOCOL.md#authorities-and-tenants):
//
//  1. no requested tenant, or the default one: the default;
//  2. the default is "adfs", or AZURE_IDENTITY_DISABLE_MULTITENANTAUTH is non-empty: the default;
//  3. no default: the requested tenant;
//  4. "*" or the requested tenant in allowed: the requested tenant;
//  5. allowed is empty and the default is "organizations": the requested tenant;
//  6. otherwise an error wrapping [ErrTenantNotAllowed] that names AdditionallyAllowedTenants.
//
// Comparisons are exact, as in azure-identity. A requested tenant is validated first.
// getenv may be nil (no environment).
func ResolveTenant(defaultTenant, requested string, allowed []string, getenv func(string) string) (string, error) {
	if requested == "" || requested == defaultTenant {
		return defaultTenant, nil
	}
	if err := ValidateTenantID(requested); err != nil {
		return "", err
	}
	if defaultTenant == ADFS || (getenv != nil && getenv(EnvDisableMultiTenantAuth) != "") {
		return defaultTenant, nil
	}
	if defaultTenant == "" {
		return requested, nil
	}
	if slices.Contains(allowed, "*") || slices.Contains(allowed, requested) {
		return requested, nil
	}
	if len(allowed) == 0 && defaultTenant == Organizations {
		return requested, nil
	}
	return "", fmt.Errorf("%w: the credential is not configured to acquire tokens for tenant %q; "+
		"to enable acquiring tokens for this tenant add it to AdditionallyAllowedTenants when creating "+
		"the credential, or add \"*\" to AdditionallyAllowedTenants to allow acquiring tokens for any tenant",
		ErrTenantNotAllowed, requested)
}

// Config is where a credential signs in: a validated authority, its default tenant, and the
// tenants a request may name besides it. Every credential (and the VS Code credential) builds
// one with NewConfig, so they validate their options the same way.
type Config struct {
	Authority Authority
	Tenant    string   // the default tenant
	Allowed   []string // AdditionallyAllowedTenants: tenant IDs, or "*" for any
}

// NewConfig validates a credential's authority option (see [Resolve]: the option, else
// AZURE_AUTHORITY_HOST read through getenv, else the public cloud), its default tenant, and
// its additionally allowed tenants. Errors wrap [ErrInvalidAuthority] or [ErrInvalidTenant].
func NewConfig(authorityHost, tenantID string, allowed []string, getenv func(string) string) (Config, error) {
	if err := ValidateTenantID(tenantID); err != nil {
		return Config{}, err
	}
	auth, err := Resolve(authorityHost, getenv)
	if err != nil {
		return Config{}, err
	}
	for _, t := range allowed {
		if t == "*" {
			continue
		}
		if err := ValidateTenantID(t); err != nil {
			return Config{}, fmt.Errorf("AdditionallyAllowedTenants: %w", err)
		}
	}
	return Config{Authority: auth, Tenant: tenantID, Allowed: slices.Clone(allowed)}, nil
}

// ResolveTenant decides the tenant of a request that names requested ("" for the default),
// by the rules of the package-level [ResolveTenant].
func (c Config) ResolveTenant(requested string, getenv func(string) string) (string, error) {
	return ResolveTenant(c.Tenant, requested, c.Allowed, getenv)
}
