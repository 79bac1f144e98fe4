package domain_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/heepr/heepr/modules/kernel"
	"github.com/heepr/heepr/modules/webhooks/domain"
)

func TestRefusedAddresses(t *testing.T) {
	t.Parallel()
	refused := []string{
		"127.0.0.1", "127.8.9.10", "::1", // loopback
		"10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1", "fc00::1", "fd12:3456::1", // private
		"169.254.169.254", "fe80::1", // link-local (cloud metadata among them)
		"0.0.0.0", "::", "0.1.2.3", // unspecified, "this network"
		"224.0.0.1", "239.255.255.250", "ff02::1", "ff05::2", // multicast
		"100.64.0.1", "100.127.255.254", // carrier-grade NAT
		"255.255.255.255", "240.0.0.1", "198.18.0.1", "192.0.0.8", // reserved
		"::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", // IPv4-mapped
		"2002:7f00:1::", "2002:a00:1::1", // 6to4 carrying 127.0.0.1 and 10.0.0.1
		"64:ff9b::a00:1", "2001:db8::1",
	}
	for _, s := range refused {
		require.NotEmpty(t, domain.Refused(netip.MustParseAddr(s)), "%s must be refused", s)
	}
	allowed := []string{"93.184.216.34", "1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "192.169.0.1",
		"2606:4700:4700::1111", "2a00:1450:4001:82a::200e", "::ffff:93.184.216.34", "2002:5db8:d822::1"}
	for _, s := range allowed {
		require.Empty(t, domain.Refused(netip.MustParseAddr(s)), "%s must be allowed", s)
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	none, err := domain.ParseAllow("")
	require.NoError(t, err)
	allow, err := domain.ParseAllow(" 127.0.0.1 , hooks.internal, 10.20.0.0/16 ,")
	require.NoError(t, err)

	cases := []struct {
		url       string
		policy    domain.Allow
		ok        bool
		host      string // the name left to resolve
		addr      string // the address in the URL
		wantInErr string
	}{
		{"https://hooks.example.com/heepr", none, true, "hooks.example.com", "", ""},
		{"https://Hooks.Example.com:8443/x?y=1", none, true, "hooks.example.com", "", ""},
		{"https://93.184.216.34/hook", none, true, "", "93.184.216.34", ""},
		{"https://[2606:4700:4700::1111]/hook", none, true, "", "2606:4700:4700::1111", ""},
		{"http://hooks.example.com/heepr", none, false, "", "", "https"},
		{"ftp://hooks.example.com/", none, false, "", "", "https"},
		{"hooks.example.com/heepr", none, false, "", "", "absolute"},
		{"/relative", none, false, "", "", "absolute"},
		{"https://user:pass@hooks.example.com/", none, false, "", "", "user name or password"},
		{"https://user@hooks.example.com/", none, false, "", "", "user name or password"},
		{"https://hooks.example.com/#frag", none, false, "", "", "fragment"},
		{"https:///nohost", none, false, "", "", "no host"},
		{"https://127.0.0.1/hook", none, false, "", "", "loopback"},
		{"https://[::1]:8080/hook", none, false, "", "", "loopback"},
		{"https://10.1.2.3/hook", none, false, "", "", "private"},
		{"https://192.168.0.10/hook", none, false, "", "", "private"},
		{"https://169.254.169.254/latest/meta-data", none, false, "", "", "link-local"},
		{"https://[fe80::1%25eth0]/hook", none, false, "", "", "zone"},
		{"https://100.64.1.1/hook", none, false, "", "", "carrier-grade NAT"},
		{"https://0.0.0.0/hook", none, false, "", "", "unspecified"},
		{"https://[::ffff:127.0.0.1]/hook", none, false, "", "", "loopback"},
		{"https://2130706433/hook", none, false, "", "", "unusual notation"},
		{"https://0x7f.1/hook", none, false, "", "", "unusual notation"},
		{"https://0177.0.0.1/hook", none, false, "", "", "unusual notation"},
		{"https://hooks_example!.com/", none, false, "", "", "invalid host"},
		// The allowlist: addresses and ranges, and names (which may use http).
		{"http://127.0.0.1:9000/hook", allow, true, "", "127.0.0.1", ""},
		{"https://127.0.0.1/hook", allow, true, "", "127.0.0.1", ""},
		{"http://hooks.internal/x", allow, true, "hooks.internal", "", ""},
		{"https://10.20.3.4/hook", allow, true, "", "10.20.3.4", ""},
		{"https://10.21.3.4/hook", allow, false, "", "", "private"},
		{"http://10.20.3.4/hook", allow, true, "", "10.20.3.4", ""},
		{"http://hooks.example.com/", allow, false, "", "", "https"},
		{"https://127.0.0.2/hook", allow, false, "", "", "loopback"},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			t.Parallel()
			got, err := c.policy.CheckURL(c.url)
			if c.ok {
				require.NoError(t, err)
				require.Equal(t, c.host, got.Host)
				if c.addr != "" {
					require.Equal(t, netip.MustParseAddr(c.addr), got.Addr)
				}
				return
			}
			require.Error(t, err)
			e, ok := kernel.As(err)
			require.True(t, ok)
			require.Equal(t, kernel.ErrInvalid, e.Kind)
			require.Equal(t, domain.CodeURLRefused, e.Code)
			require.Equal(t, "url", e.Fields[0].Field)
			require.Contains(t, e.Detail, c.wantInErr)
		})
	}
}

func TestCheckAddrs(t *testing.T) {
	t.Parallel()
	none, _ := domain.ParseAllow("")
	allow, _ := domain.ParseAllow("127.0.0.0/8,hooks.internal")
	pub, lo, priv := netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("10.0.0.1")

	require.NoError(t, none.CheckAddrs("hooks.example.com", []netip.Addr{pub}))
	require.ErrorContains(t, none.CheckAddrs("hooks.example.com", nil), "does not resolve")
	// One private address among public ones is enough to refuse: a
	// connection might pick it.
	require.ErrorContains(t, none.CheckAddrs("rebind.example.com", []netip.Addr{pub, priv}), "private")
	require.ErrorContains(t, none.CheckAddrs("localhost", []netip.Addr{lo}), "loopback")
	require.NoError(t, allow.CheckAddrs("localhost", []netip.Addr{lo}), "inside an allowed range")
	require.ErrorContains(t, allow.CheckAddrs("x.example.com", []netip.Addr{lo, priv}), "private")
	require.NoError(t, allow.CheckAddrs("hooks.internal", []netip.Addr{priv}), "an allowed name goes anywhere")
	require.NoError(t, allow.CheckAddrs("HOOKS.internal.", nil), "names match regardless of case and final dot")
}

func TestParseAllow(t *testing.T) {
	t.Parallel()
	a, err := domain.ParseAllow("127.0.0.1, ::1, 10.0.0.0/8, fd00::/8, hooks.internal")
	require.NoError(t, err)
	for _, s := range []string{"127.0.0.1", "::1", "10.9.8.7", "fd00::5"} {
		require.True(t, a.Addr(netip.MustParseAddr(s)), s)
	}
	require.False(t, a.Addr(netip.MustParseAddr("127.0.0.2")))
	require.True(t, a.Host("hooks.internal"))
	require.False(t, a.Host("other.internal"))
	for _, bad := range []string{"10.0.0.0/33", "not a host!", "http://x"} {
		_, err := domain.ParseAllow(bad)
		require.Error(t, err, bad)
	}
}
