package events_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
)

// pollConn is the benchmark's load client for the polls over HTTP (ADR 16):
// one keep-alive HTTP/1.1 connection that writes the same request, built
// once, and reads each answer on the calling goroutine. A poll costs the
// client one write and one read; Go's http.Client hands each request to
// the connection's write goroutine and each answer back from its read
// goroutine, two more wake-ups a poll that, on two cores shared with the
// server and Postgres, were charged to the server. The answer is read in
// full and its status checked; a framing pollConn does not speak (chunked,
// or a connection the server closes) is an error, never a guess.
type pollConn struct {
	conn net.Conn
	r    *bufio.Reader
	req  []byte
}

// dialPoll opens a connection to req's host and builds req's bytes: its
// method, path and query, Host and its headers, no body.
func dialPoll(req *http.Request) (*pollConn, error) {
	if req.Body != nil && req.Body != http.NoBody {
		return nil, errors.New("pollConn: a request with a body")
	}
	conn, err := net.Dial("tcp", req.URL.Host)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), req.URL.Host)
	for _, k := range slices.Sorted(maps.Keys(req.Header)) {
		for _, v := range req.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	return &pollConn{conn: conn, r: bufio.NewReaderSize(conn, 16<<10), req: b.Bytes()}, nil
}

// do sends the request once and reads the answer's body into buf.
func (c *pollConn) do(buf *bytes.Buffer) (status int, err error) {
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("pollConn: status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, fmt.Errorf("pollConn: status line %q", line)
	}
	length := -1
	for {
		if line, err = c.r.ReadSlice('\n'); err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("pollConn: header line %q", line)
		}
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return 0, fmt.Errorf("pollConn: %q", line)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")), bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(bytes.TrimSpace(value), []byte("close")):
			return 0, fmt.Errorf("pollConn: %q is not spoken here", line)
		}
	}
	if length < 0 {
		return 0, errors.New("pollConn: an answer without Content-Length")
	}
	buf.Reset()
	_, err = io.CopyN(buf, c.r, int64(length))
	return status, err
}

// Close closes the connection.
func (c *pollConn) Close() error { return c.conn.Close() }
