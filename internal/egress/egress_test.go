package egress

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, ok := range [][]string{nil, {""}, {"localhost", "LOCALHOST."}, {"127.0.0.1", "::1", "[::1]"}, {"10.0.0.0/8", "fd00::/8"}, {"minio.svc.cluster.local", "media_1.internal"}} {
		_, err := Parse(ok)
		require.NoError(t, err, "%q", ok)
	}
	for _, bad := range []string{"localhost:9000", "http://minio", "*.internal", "10.0.0.0/33", "a b", "fe80::1%eth0", "a..b", "-", "[::1]:80"} {
		_, err := Parse([]string{"127.0.0.1", bad})
		require.ErrorContains(t, err, bad, "%q is refused, and named", bad)
	}
}

// listen returns the address of a loopback listener that accepts.
func listen(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

func dial(t *testing.T, allowed []string, addr string) error {
	t.Helper()
	p, err := Parse(allowed)
	require.NoError(t, err)
	c, err := p.DialContext(context.Background(), "tcp", addr)
	if err == nil {
		c.Close()
	}
	return err
}

func TestDialContext(t *testing.T) {
	addr := listen(t)
	_, port, _ := net.SplitHostPort(addr)
	tests := []struct {
		name    string
		allowed []string
		addr    string
		refused string // the address refused; "" when the dial goes through
	}{
		{"loopback refused by default", nil, addr, "127.0.0.1"},
		{"a name for loopback refused by default", nil, "localhost:" + port, "127.0.0.1"},
		{"loopback allowed by IP", []string{"127.0.0.1"}, addr, ""},
		{"loopback allowed by CIDR", []string{"127.0.0.0/8"}, addr, ""},
		{"an allowed IP allows any name for it", []string{"127.0.0.1"}, "localhost:" + port, ""},
		{"allowed by name", []string{"localhost"}, "localhost:" + port, ""},
		{"an allowed name does not allow its address", []string{"localhost"}, addr, "127.0.0.1"},
		{"IPv4-mapped loopback", []string{"10.0.0.0/8"}, "[::ffff:127.0.0.1]:" + port, "127.0.0.1"},
		{"cloud metadata", []string{"127.0.0.1"}, "169.254.169.254:80", "169.254.169.254"},
		{"private", nil, "10.1.2.3:80", "10.1.2.3"},
		{"shared address space", nil, "100.64.0.1:80", "100.64.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := dial(t, tc.allowed, tc.addr)
			if tc.refused == "" {
				require.NoError(t, err)
				return
			}
			var fe *ForbiddenError
			require.True(t, errors.As(err, &fe), "got %v, want a ForbiddenError", err)
			require.Equal(t, tc.refused, fe.Addr.String())
		})
	}
}

func TestClass(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1":        "a loopback address",
		"::1":              "a loopback address",
		"::ffff:127.0.0.1": "a loopback address",
		"10.0.0.1":         "a private address",
		"192.168.1.1":      "a private address",
		"fd00::1":          "a private address",
		"169.254.169.254":  "a link-local address (cloud metadata lives there)",
		"fe80::1":          "a link-local address (cloud metadata lives there)",
		"0.0.0.0":          "the unspecified address",
		"224.0.0.1":        "a multicast address",
		"100.64.0.1":       "a shared (carrier-grade NAT) address",
		"192.0.2.1":        "a reserved address",
	} {
		require.Equal(t, want, Class(netip.MustParseAddr(addr)), addr)
	}
}
