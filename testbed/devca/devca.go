package devca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/meridian-s3/meridian/internal/mtls"
)

// File names inside the CA folder.
const (
	CertFile = "ca.pem"
	KeyFile  = "ca-key.pem"
)

// URIScheme is the scheme of the role URI SAN: "meridian://<role>/<name>".
const URIScheme = "meridian"

// RoleEdge marks edge client certificates.
const RoleEdge = string(mtls.RoleEdge)

// Validity periods.
const (
	CAValidity   = 10 * 365 * 24 * time.Hour
	LeafValidity = 2 * 365 * 24 * time.Hour
)

// Sentinel errors.
var (
	ErrBadCAFiles = errors.New("devca: CA files are unreadable or do not match")
	ErrNoNames    = errors.New("devca: a server certificate needs at least one name or IP")
	ErrBadRole    = errors.New("devca: role and common name must be non-empty path segments")
	ErrBadNode    = errors.New("devca: bad node identity")
)

// CA issues certificates. It is safe for concurrent use.
type CA struct {
	Cert    *x509.Certificate
	CertPEM []byte
	key     *ecdsa.PrivateKey
}

// EnsureCA loads the CA from dir, or creates it (and dir) when ca.pem and
// ca-key.pem are both absent.
func EnsureCA(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	switch {
	case cerr == nil && kerr == nil:
		return load(certPEM, keyPEM)
	case !errors.Is(cerr, os.ErrNotExist) && cerr != nil:
		return nil, fmt.Errorf("devca: %w", cerr)
	case !errors.Is(kerr, os.ErrNotExist) && kerr != nil:
		return nil, fmt.Errorf("devca: %w", kerr)
	case (cerr == nil) != (kerr == nil):
		return nil, fmt.Errorf("%w: only one of %s and %s exists in %s", ErrBadCAFiles, CertFile, KeyFile, dir)
	}
	ca, keyPEM, err := newCA()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("devca: %w", err)
	}
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(certPath, ca.CertPEM, 0o644); err != nil {
		return nil, err
	}
	return ca, nil
}

func load(certPEM, keyPEM []byte) (*CA, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCAFiles, err)
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: key is not ECDSA", ErrBadCAFiles)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil || !cert.IsCA {
		return nil, fmt.Errorf("%w: not a CA certificate", ErrBadCAFiles)
	}
	return &CA{Cert: cert, CertPEM: certPEM, key: key}, nil
}

func newCA() (*CA, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Meridian dev CA", Organization: []string{"Meridian"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	return &CA{Cert: cert, CertPEM: certPEM, key: key}, keyPEM, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// Pool returns a pool holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// IssueServer issues a server certificate for the DNS names and IPs.
func (ca *CA) IssueServer(names []string, ips []net.IP) (tls.Certificate, error) {
	if len(names) == 0 && len(ips) == 0 {
		return tls.Certificate{}, ErrNoNames
	}
	cn := ""
	if len(names) > 0 {
		cn = names[0]
	} else {
		cn = ips[0].String()
	}
	tmpl := ca.leaf(cn)
	tmpl.DNSNames, tmpl.IPAddresses = names, ips
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	return ca.issue(tmpl)
}

// IssueClient issues a client certificate for commonName carrying the URI
// SAN "meridian://<role>/<commonName>" (RoleEdge for edges).
func (ca *CA) IssueClient(commonName, role string) (tls.Certificate, error) {
	if !mtls.Segment(commonName) || !mtls.Segment(role) {
		return tls.Certificate{}, ErrBadRole
	}
	tmpl := ca.leaf(commonName)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	tmpl.URIs = []*url.URL{RoleURI(role, commonName)}
	return ca.issue(tmpl)
}

// RoleURI is the URI SAN that marks a certificate with a role.
func RoleURI(role, name string) *url.URL {
	return &url.URL{Scheme: URIScheme, Host: role, Path: "/" + name}
}

// IssueNode issues the certificate of an internal node (docs/security.md):
// its one URI SAN is id.URI() ("meridian://storage/storage-a1?az=a&region=us-east-1").
// Nodes that serve (every role but admin) get server and client
// authentication and the DNS names and IPs given (which peers do not check,
// but other TLS clients may); admin certificates are client-only.
func (ca *CA) IssueNode(id mtls.Identity, names []string, ips []net.IP) (tls.Certificate, error) {
	if err := id.Validate(); err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: %v", ErrBadNode, err)
	}
	if !id.Role.Internal() {
		return tls.Certificate{}, fmt.Errorf("%w: %s is not an internal role (edges use IssueClient)", ErrBadNode, id.Role)
	}
	tmpl := ca.leaf(id.ID)
	tmpl.URIs = []*url.URL{id.URI()}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if id.Role != mtls.RoleAdmin {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.DNSNames, tmpl.IPAddresses = names, ips
	}
	return ca.issue(tmpl)
}

// Node issues a node certificate (loopback names) and returns it as the
// node's TLS material, for in-process clusters and tests.
func (ca *CA) Node(id mtls.Identity) (*mtls.Node, error) {
	cert, err := ca.IssueNode(id, []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	return mtls.NewNode(ca.Pool(), cert)
}

// WriteNodeFiles issues a node certificate and writes it into dir as
// <name>.pem and <name>-key.pem; it returns the two paths.
func (ca *CA) WriteNodeFiles(dir, name string, id mtls.Identity, names []string, ips []net.IP) (certPath, keyPath string, err error) {
	cert, err := ca.IssueNode(id, names, ips)
	if err != nil {
		return "", "", err
	}
	return WriteCertFiles(dir, name, cert)
}

func (ca *CA) leaf(cn string) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Meridian"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(LeafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
}

func (ca *CA) issue(tmpl *x509.Certificate) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("devca: issue: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// WriteCertFiles writes <name>.pem (leaf then chain) and <name>-key.pem
// (mode 0600) into dir, for processes that load certificates from files.
// It returns the two paths.
func WriteCertFiles(dir, name string, cert tls.Certificate) (certPath, keyPath string, err error) {
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return "", "", errors.New("devca: only ECDSA keys can be written")
	}
	var certPEM []byte
	for _, der := range cert.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("devca: %w", err)
	}
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := writeFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return "", "", err
	}
	if err := writeFile(certPath, certPEM, 0o644); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// writeFile writes atomically: temp file, fsync, rename, directory sync.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("devca: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("devca: write %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
