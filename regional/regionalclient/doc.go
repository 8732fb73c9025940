// Package regionalclient is the edge's side of the edge → region link and
// the protocol both sides share (docs/edge.md).
//
// The link is HTTP/3 over QUIC with mutual TLS to other regions and HTTP/2
// over mutual TLS on TCP to the edge's own region (Config.TCPRegions;
// docs/edge.md, "Transports"). The edge authenticates the
// client's SigV4 request itself and forwards a plain request carrying the
// authenticated principal in headers (HeaderPrincipal, HeaderAccessKey,
// HeaderRequestID, HeaderChecksumAlgorithms). The body is the decoded object
// bytes with Content-Length = decoded length; it is complete only when the
// stream ends cleanly — the edge resets the request stream when its verifying
// reader fails, so a region never commits a body the edge rejected.
//
// A regional gateway trusts these headers only on its edge listener and only
// from a peer whose verified certificate carries the URI SAN
// "meridian://edge/<name>" (EdgeName).
//
// Client pools Config.QUICConns connections per regional gateway
// (http3.Transport; TCPConns http.Transports for a TCP region),
// spreads requests over a region's gateways and retries a failed request once
// on another gateway when that is safe (no body, or body not read yet).
package regionalclient
