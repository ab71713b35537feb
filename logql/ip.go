package logql

import (
	"fmt"
	"net/netip"
	"strings"
)

// ipMatcher matches addresses against one address, a CIDR prefix or an
// inclusive range "from-to", as Loki's ip() does.
type ipMatcher struct {
	prefix   netip.Prefix
	from, to netip.Addr
	isPrefix bool
}

func compileIPPattern(p string) (*ipMatcher, error) {
	p = strings.TrimSpace(p)
	if strings.Contains(p, "/") {
		pr, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("invalid ip pattern %q: %w", p, err)
		}
		return &ipMatcher{prefix: pr.Masked(), isPrefix: true}, nil
	}
	if a, err := netip.ParseAddr(p); err == nil {
		return &ipMatcher{from: a, to: a}, nil
	}
	if from, to, ok := strings.Cut(p, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(from))
		b, err2 := netip.ParseAddr(strings.TrimSpace(to))
		if err1 == nil && err2 == nil && a.Is4() == b.Is4() && !b.Less(a) {
			return &ipMatcher{from: a, to: b}, nil
		}
	}
	return nil, fmt.Errorf("invalid ip pattern %q: want an address, a CIDR prefix or a range a-b", p)
}

func (m *ipMatcher) matchAddr(a netip.Addr) bool {
	a = a.Unmap()
	if m.isPrefix {
		return m.prefix.Contains(a)
	}
	return a.Is4() == m.from.Is4() && !a.Less(m.from) && !m.to.Less(a)
}

// matchString reports whether s is an address the pattern matches.
func (m *ipMatcher) matchString(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && m.matchAddr(a)
}

// matchLine reports whether the line holds a matching address anywhere:
// every run of hex digits, dots and colons is tried as an address, and as
// an address with a port.
func (m *ipMatcher) matchLine(line string) bool {
	for i := 0; i < len(line); {
		if !isIPChar(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isIPChar(line[j]) {
			j++
		}
		if m.matchCandidate(strings.Trim(line[i:j], ".")) {
			return true
		}
		i = j
	}
	return false
}

func (m *ipMatcher) matchCandidate(s string) bool {
	if len(s) < 2 {
		return false
	}
	if m.matchString(s) {
		return true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return m.matchAddr(ap.Addr())
	}
	if strings.Contains(s, ".") {
		if host, _, ok := strings.Cut(s, ":"); ok {
			return m.matchString(host)
		}
	}
	return false
}

func isIPChar(c byte) bool {
	return isDigit(c) || c == '.' || c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}
