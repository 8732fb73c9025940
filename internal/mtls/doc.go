// Package mtls is the mutual-TLS identity of Meridian's internal hops:
// gateway → metadata RPC, gateway/background → storage nodes, Raft between
// metadata nodes, storage heartbeats to the control plane, and admin calls.
//
// Every node holds a certificate from its region's CA whose one URI SAN names
// its identity:
//
//	meridian://<role>/<id>?region=<region>&az=<az>
//
// role is one of meta, storage, gateway, background, admin, edge; id is the
// node id (the Raft server id of a meta node, the storage node id the control
// plane registers); region and az are present for every internal role and
// absent on edge certificates ("meridian://edge/<name>", the edge → region
// QUIC link's mark, which regional/regionalclient.EdgeName reads).
//
// Node loads the CA, certificate and key once and hands out a server
// tls.Config (TLS 1.3, client certificate required and verified against the
// CA) and client dialers that verify the server's chain against the CA and
// its role (not its host name: a node is who its certificate says, wherever
// it runs). Clients resume sessions (one session cache per Node, keyed by the
// peer's host:port) and the HTTP transports keep connections alive, so the
// handshake is paid once per connection and rarely in full.
//
// Servers authorize by the verified peer identity: Allow wraps an HTTP
// handler and admits only the given roles of the server's own region;
// FromRequest gives a handler the identity (the control plane accepts a
// storage heartbeat only for the id and AZ in the peer certificate).
// docs/security.md has the table of who may call what.
package mtls
