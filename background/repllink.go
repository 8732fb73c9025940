package background

// ReplicationLinkConns is the number of QUIC connections the replicator
// keeps to each destination gateway (regionalclient.Config.QUICConns;
// `meridian background --replication-link-conns`). Across the 80 ms test
// link one connection carried a 16 × 16 MiB backlog at 6–9 MiB/s: every
// burst that overflowed the gateway's per-connection receive queue (256
// packets in quic-go, drained by one goroutine) was a loss that cut the
// one congestion window, which cubic regrows over many round trips.
// Several connections split the window and the receive work; figures in
// docs/replication.md ("Measured").
const ReplicationLinkConns = 4
