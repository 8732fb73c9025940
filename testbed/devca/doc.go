// Package devca is the development certificate authority that `meridian dev`,
// `meridian devcerts` and the tests use: one ECDSA P-256 CA (10 years) kept
// as ca.pem and ca-key.pem in a folder, which issues server certificates
// (for edges), client certificates (for the edge → region link) and the
// internal nodes' certificates (IssueNode: meta, storage, gateway,
// background, admin), whose identity URI is defined by internal/mtls.
// TestCA gives tests a throwaway CA in t.TempDir().
//
// Roles are carried in a URI SAN of the form "meridian://<role>/<name>".
// An edge client certificate is issued with role "edge", so it carries
// "meridian://edge/<name>"; regional gateways trust the principal headers of
// the edge link only from a verified peer certificate with that mark (see
// regional/regionalclient.EdgeName and docs/edge.md). Production deployments
// use their own CA and issue the same URI SAN.
package devca
