package domain

import (
	"net/netip"
	"net/url"
	"strings"

	"github.com/heepr/heepr/modules/kernel"
)

// MaxURLLength bounds a webhook URL.
const MaxURLLength = 2048

// Allow lists targets that may be called although they are private
// (HEEPR_WEBHOOK_ALLOW): host names, and addresses or CIDR ranges. An
// allowed host name may also be called over plain http, and so may an
// address inside an allowed range written literally in the URL.
type Allow struct {
	hosts    map[string]bool
	prefixes []netip.Prefix
}

// ParseAllow reads a comma-separated list of host names, addresses and
// CIDR ranges ("" allows nothing beyond the public internet).
func ParseAllow(s string) (Allow, error) {
	a := Allow{hosts: map[string]bool{}}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "":
		case strings.Contains(item, "/"):
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return Allow{}, errAllow(item)
			}
			a.prefixes = append(a.prefixes, p.Masked())
		default:
			if ip, err := netip.ParseAddr(item); err == nil {
				a.prefixes = append(a.prefixes, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			if !validHostName(item) {
				return Allow{}, errAllow(item)
			}
			a.hosts[strings.ToLower(item)] = true
		}
	}
	return a, nil
}

func errAllow(item string) error {
	return kernel.New(kernel.ErrInvalid, "", "%q is neither a host name, an address nor a CIDR range", item)
}

// validHostName accepts DNS names: letters, digits, hyphens and dots.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// numericName reports a host whose last label is a number: decimal (or
// octal) digits, or 0x and hex digits.
func numericName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	last := strings.ToLower(h[strings.LastIndex(h, ".")+1:])
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = rest, "0123456789abcdef"
	}
	for _, r := range last {
		if !strings.ContainsRune(digits, r) {
			return false
		}
	}
	return true
}

// Host reports whether a host name is allowlisted by name.
func (a Allow) Host(host string) bool { return a.hosts[strings.ToLower(strings.TrimSuffix(host, "."))] }

// Addr reports whether an address is inside an allowlisted range.
func (a Allow) Addr(ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, p := range a.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// refusedRanges are never called unless allowlisted, beyond what
// netip.Addr's own predicates catch (loopback, private, link-local,
// unspecified, multicast).
var refusedRanges = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a reserved address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "a reserved address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a reserved address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("64:ff9b::/96"), "a NAT64 address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a NAT64 address"},
	{netip.MustParsePrefix("100::/64"), "a discard address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
}

// sixToFour holds IPv6 addresses that embed an IPv4 address (6to4).
var sixToFour = netip.MustParsePrefix("2002::/16")

// Refused says why an address must not be called ("" when it may be):
// loopback, private (RFC 1918, fc00::/7), link-local (169.254/16,
// fe80::/10), unspecified, multicast, carrier-grade NAT (100.64/10) and
// other reserved ranges. IPv4-mapped and 6to4 IPv6 addresses are judged by
// the IPv4 address they carry.
func Refused(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() && sixToFour.Contains(ip) {
		b := ip.As16()
		return Refused(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	switch {
	case !ip.IsValid():
		return "not an address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast address"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	for _, r := range refusedRanges {
		if r.prefix.Contains(ip) {
			return r.why
		}
	}
	return ""
}

// CheckAddr refuses an address that is Refused and not allowlisted.
func (a Allow) CheckAddr(ip netip.Addr) error {
	if why := Refused(ip); why != "" && !a.Addr(ip) {
		return urlRefused("the host is %s (%s); webhooks call public addresses only", why, ip.Unmap())
	}
	return nil
}

// CheckAddrs refuses a host whose addresses include one that may not be
// called (unless the host is allowlisted by name), or that has none.
func (a Allow) CheckAddrs(host string, ips []netip.Addr) error {
	if a.Host(host) {
		return nil
	}
	if len(ips) == 0 {
		return urlRefused("the host %s does not resolve", host)
	}
	for _, ip := range ips {
		if err := a.CheckAddr(ip); err != nil {
			return err
		}
	}
	return nil
}

// CodeURLRefused is the problem type of a refused webhook URL.
const CodeURLRefused = "webhook-url-not-allowed"

func urlRefused(format string, args ...any) *kernel.Error {
	e := kernel.New(kernel.ErrInvalid, CodeURLRefused, format, args...)
	e.Fields = []kernel.FieldError{{Field: "url", Detail: e.Detail}}
	return e
}

// Target is a checked webhook URL: Host is what must still resolve to
// addresses the policy accepts (empty when the URL holds an address).
type Target struct {
	URL  *url.URL
	Host string     // a host name, to resolve
	Addr netip.Addr // the address written in the URL, if any
}

// CheckURL applies every rule that needs no DNS: an absolute https URL
// (http only for an allowlisted host), no user name or password, no
// fragment, a host, and an address written in the URL that may be called.
func (a Allow) CheckURL(raw string) (Target, error) {
	if len(raw) > MaxURLLength {
		return Target{}, urlRefused("is longer than %d characters", MaxURLLength)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return Target{}, urlRefused("is not an absolute URL")
	}
	host := u.Hostname()
	if host == "" {
		return Target{}, urlRefused("has no host")
	}
	if u.User != nil {
		return Target{}, urlRefused("must not hold a user name or password")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return Target{}, urlRefused("must not hold a fragment")
	}
	t := Target{URL: u}
	ip, ipErr := netip.ParseAddr(strings.Trim(host, "[]"))
	if ipErr == nil {
		if ip.Zone() != "" {
			return Target{}, urlRefused("must not name an address with a zone")
		}
		t.Addr = ip
	} else {
		if !validHostName(host) {
			return Target{}, urlRefused("has an invalid host")
		}
		if numericName(host) {
			// 2130706433, 0177.0.0.1, 0x7f.1: addresses in notations some
			// resolvers accept; no real name ends in a number.
			return Target{}, urlRefused("names an address in an unusual notation")
		}
		t.Host = strings.ToLower(host)
	}
	allowed := a.Host(host) || (ipErr == nil && a.Addr(ip))
	switch u.Scheme {
	case "https":
	case "http":
		if !allowed {
			return Target{}, urlRefused("must use https")
		}
	default:
		return Target{}, urlRefused("must use https")
	}
	if ipErr == nil {
		if err := a.CheckAddr(ip); err != nil {
			return Target{}, err
		}
	}
	return t, nil
}
