package connbuf

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
)

type connKey struct{}

// StateConn is a connection that authenticated its peer below net/http and
// says how, as a TLS connection would: a *Conn (TLS in this package) or a
// *localconn.Conn (certificate-authenticated Unix socket). State is nil
// until the peer is authenticated.
type StateConn interface {
	net.Conn
	State() *tls.ConnectionState
}

// ConnContext is an http.Server ConnContext that remembers a StateConn so
// that WithTLSState can give its requests their TLS state.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(StateConn); ok {
		return context.WithValue(ctx, connKey{}, cc)
	}
	return ctx
}

// FromContext is the StateConn a request arrived on (nil if none).
func FromContext(ctx context.Context) StateConn {
	c, _ := ctx.Value(connKey{}).(StateConn)
	return c
}

// WithTLSState sets r.TLS to the state of the StateConn the request arrived
// on (net/http sets it only for a *tls.Conn).
func WithTLSState(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if c := FromContext(r.Context()); c != nil {
				r.TLS = c.State()
			}
		}
		h.ServeHTTP(w, r)
	})
}

// ConfigureServer prepares srv to serve Listeners of StateConns (Conns,
// local connections): ConnContext
// (chained before srv's own) and WithTLSState around the handler; and when
// srv serves HTTP/2 (Protocols with HTTP2, as for TLS), unencrypted HTTP/2
// too — over a Conn the bytes are encrypted below net/http, over a local
// connection they never leave the host; net/http recognizes HTTP/2 by its
// connection preface (the client negotiated or declared "h2"). Call it
// before Serve.
func ConfigureServer(srv *http.Server) {
	prev := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prev != nil {
			ctx = prev(ctx, c)
		}
		return ConnContext(ctx, c)
	}
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = WithTLSState(h)
	if srv.Protocols != nil && srv.Protocols.HTTP2() {
		p := *srv.Protocols
		p.SetUnencryptedHTTP2(true)
		srv.Protocols = &p
	}
}

// HTTP2Transport sets t up to speak HTTP/2 over the Conns its
// DialTLSContext returns (prior knowledge: the Conn's ALPN said "h2").
func HTTP2Transport(t *http.Transport) {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	t.Protocols = p
	t.ForceAttemptHTTP2 = false
}
