// Package webhook is the HTTP client that calls webhook receivers (the
// webhooks module's Sender): it connects only to addresses the target
// policy accepts, checked when it dials (so a name that resolves to a
// private address later, DNS rebinding, gains nothing), follows no
// redirects, uses no proxy, and gives up after a few seconds.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/heepr/heepr/modules/webhooks"
	"github.com/heepr/heepr/modules/webhooks/domain"
)

// Limits of one request.
const (
	DialTimeout   = 5 * time.Second
	Timeout       = 15 * time.Second // the whole request, answer included
	MaxAnswerBody = 4 << 10          // read of the answer's body, at most
	logBody       = 200              // kept of it for the delivery log
)

// UserAgent names heepr to receivers.
const UserAgent = "heepr-webhooks/1"

// Client posts webhook requests.
type Client struct {
	allow    domain.Allow
	http     *http.Client
	resolver *net.Resolver
}

var _ webhooks.Sender = (*Client)(nil)

// New builds a client that calls public addresses, and the private ones allow lists.
func New(allow domain.Allow) *Client {
	c := &Client{allow: allow, resolver: net.DefaultResolver}
	dialer := &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second, ControlContext: c.control}
	plain := &net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy: nil, // a proxy would dial for us, past the address check
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err == nil && allow.Host(host) {
				return plain.DialContext(ctx, network, addr) // allowlisted by name, wherever it points
			}
			return dialer.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   DialTimeout,
		ResponseHeaderTimeout: Timeout,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	c.http = &http.Client{
		Transport: transport,
		Timeout:   Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a 3xx is an answer, and not a success
		},
	}
	return c
}

// errRefused marks a connection refused by the policy.
var errRefused = errors.New("refused")

// control runs after the address is resolved and before the connection
// is made: it refuses an address the policy does not accept.
func (c *Client) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s is not an address", errRefused, address)
	}
	if why := domain.Refused(ap.Addr()); why != "" && !c.allow.Addr(ap.Addr()) {
		return fmt.Errorf("%w: %s is %s", errRefused, ap.Addr().Unmap(), why)
	}
	return nil
}

// Resolve returns the addresses of a host name.
func (c *Client) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	return c.resolver.LookupNetIP(ctx, "ip", host)
}

// Post sends body as JSON with the headers and reads the start of the answer.
func (c *Client) Post(ctx context.Context, target string, header map[string]string, body []byte) (webhooks.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return webhooks.Response{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return webhooks.Response{}, describe(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBody))
	return webhooks.Response{Status: resp.StatusCode, Body: excerpt(b)}, nil
}

// describe turns a transport error into a line for the delivery log,
// without the method and URL Go puts in front.
func describe(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("no answer within %s: %w", Timeout, err)
	}
	return err
}

// excerpt keeps the start of an answer's body as one line of valid UTF-8.
func excerpt(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), ""))
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > logBody {
		cut := logBody
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
