package connbuf

import (
	"context"
	"net"
	"net/http"
)

type connKey struct{}

// ConnContext is an http.Server ConnContext that remembers a *Conn so that
// WithTLSState can give its requests their TLS state.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if cc, ok := c.(*Conn); ok {
		return context.WithValue(ctx, connKey{}, cc)
	}
	return ctx
}

// FromContext is the *Conn a request arrived on (nil if none).
func FromContext(ctx context.Context) *Conn {
	c, _ := ctx.Value(connKey{}).(*Conn)
	return c
}

// WithTLSState sets r.TLS to the state of the *Conn the request arrived on
// (net/http sets it only for a *tls.Conn).
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

// ConfigureServer prepares srv to serve a Listener of Conns: ConnContext
// (chained before srv's own) and WithTLSState around the handler; and when
// srv serves HTTP/2 (Protocols with HTTP2, as for TLS), unencrypted HTTP/2
// too — over a Conn the bytes are encrypted below net/http, which then
// recognizes HTTP/2 by its connection preface (the client negotiated "h2"
// by ALPN). Call it before Serve.
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
