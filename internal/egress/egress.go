// Package egress decides which network addresses an outbound connection
// made on behalf of event data (a media download) may reach. The check is
// made on the address actually dialled, after DNS and on every connection
// (so on every redirect), by code.dny.dev/ssrf's net.Dialer.Control
// guardian: loopback, private, link-local, shared, multicast and the
// other special-purpose ranges of the IANA registries are refused, unless
// an allow list (MEDIA_ALLOWED_HOSTS) names them.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// Policy is a parsed allow list; the zero Policy is not usable, use Parse.
// It is safe for concurrent use.
type Policy struct {
	names  map[string]bool
	guard  *ssrf.Guardian
	dialer *net.Dialer // checked by guard
	open   *net.Dialer // for allowed host names: not checked
}

// Parse reads an allow list: each entry is a host name (allowed whatever
// addresses it resolves to, when a URL names it), an IP address or a CIDR
// prefix (allowed whatever name leads to it). Names are compared
// case-insensitively, without a trailing dot; empty entries are ignored.
// An entry that is none of these (a port, a scheme, a wildcard) is an
// error that quotes it.
func Parse(entries []string) (*Policy, error) {
	p := &Policy{names: map[string]bool{}}
	var v4, v6 []netip.Prefix
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		pfx, err := parseEntry(e)
		if err != nil {
			return nil, err
		}
		if !pfx.IsValid() {
			p.names[hostKey(e)] = true
			continue
		}
		if pfx.Addr().Is4() {
			v4 = append(v4, pfx)
			// The same addresses written IPv4-mapped (::ffff:a.b.c.d),
			// which the guardian treats as IPv6.
			mapped := netip.AddrFrom16(pfx.Addr().As16())
			v6 = append(v6, netip.PrefixFrom(mapped, 96+pfx.Bits()))
		} else {
			v6 = append(v6, pfx)
		}
	}
	p.guard = ssrf.New(ssrf.WithAnyPort(), ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...))
	// net/http's default dialer settings.
	p.open = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	p.dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.control}
	return p, nil
}

// parseEntry returns the prefix an entry names, or an invalid prefix (and
// no error) when the entry is a host name.
func parseEntry(e string) (netip.Prefix, error) {
	if strings.Contains(e, "/") {
		pfx, err := netip.ParsePrefix(e)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a valid CIDR prefix", e)
		}
		return pfx.Masked(), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q: IPv6 zones are not supported", e)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if !isHostName(e) {
		return netip.Prefix{}, fmt.Errorf("%q is not a host name, an IP address or a CIDR prefix (no scheme, port or wildcard)", e)
	}
	return netip.Prefix{}, nil
}

// isHostName reports whether s is a DNS name: dot-separated labels of
// letters, digits, '-' (not first or last) and '_', each 1 to 63 bytes,
// at most 253 in all.
func isHostName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

func hostKey(host string) string {
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// DialContext is an http.Transport's DialContext: a host name on the
// allow list is dialled as it is; any other address is refused with a
// *ForbiddenError when the address dialled (each one DNS gives, in turn)
// is not public and not on the allow list.
func (p *Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if p.names[hostKey(host)] {
		return p.open.DialContext(ctx, network, addr)
	}
	return p.dialer.DialContext(ctx, network, addr)
}

func (p *Policy) control(network, address string, c syscall.RawConn) error {
	err := p.guard.Safe(network, address, c)
	if err == nil {
		return nil
	}
	ap, perr := netip.ParseAddrPort(address)
	if perr != nil || !errors.Is(err, ssrf.ErrProhibitedIP) {
		return err
	}
	return &ForbiddenError{Addr: ap.Addr().Unmap()}
}

// ForbiddenError is a connection refused because its address is not
// public and not on the allow list.
type ForbiddenError struct {
	Addr netip.Addr
}

func (e *ForbiddenError) Error() string {
	return fmt.Sprintf("%s is %s", e.Addr, Class(e.Addr))
}

// Class names the kind of non-public address a is ("a loopback
// address", "a private address", …), for error messages.
func Class(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address (cloud metadata lives there)"
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "a multicast address"
	case a.Is4() && netip.MustParsePrefix("100.64.0.0/10").Contains(a):
		return "a shared (carrier-grade NAT) address"
	}
	return "a reserved address"
}
