package distributor

import (
	"fmt"
)

// MaxTenantLength is the longest tenant id accepted, as in Loki and Mimir.
const MaxTenantLength = 150

// ValidateTenant checks a tenant id: 1-150 characters from [a-zA-Z0-9!-_.*'()], not "." or "..".
func ValidateTenant(t string) error {
	if t == "" {
		return fmt.Errorf("no tenant: set the X-Scope-OrgID header")
	}
	if len(t) > MaxTenantLength {
		return fmt.Errorf("tenant id is %d characters long, more than the maximum of %d", len(t), MaxTenantLength)
	}
	if t == "." || t == ".." {
		return fmt.Errorf("tenant id %q is not allowed", t)
	}
	for i, r := range t {
		if !tenantRune(r) {
			return fmt.Errorf("tenant id contains unsupported character %q at position %d: allowed are letters, digits and !-_.*'()", r, i)
		}
	}
	return nil
}

func tenantRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	switch r {
	case '!', '-', '_', '.', '*', '\'', '(', ')':
		return true
	}
	return false
}

// resolveTenant applies the auth mode to the header value.
func (d *Distributor) resolveTenant(header string) (string, error) {
	if header == "" {
		if d.cfg.AuthEnabled {
			return "", newTenantError("no org id: set the X-Scope-OrgID header (auth is enabled)", true)
		}
		return d.cfg.DefaultTenant, nil
	}
	if err := ValidateTenant(header); err != nil {
		return "", newTenantError(err.Error(), false)
	}
	return header, nil
}
