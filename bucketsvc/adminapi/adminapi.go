// Package adminapi is the operators' API to the bucket catalog of a running
// deployment: create accounts and access keys, revoke keys, list buckets.
// A regional gateway serves it on its --admin-listen address (and `meridian
// dev` on the first region's), so operators never open the catalog's files
// or database themselves (the embedded catalog is one process's file).
//
// Transport: HTTPS with mutual TLS 1.3 from the region CA (internal/mtls).
// Only certificates of role admin of the server's region are admitted
// (others get 403 before any handler runs); the client accepts only a
// server whose certificate names role gateway. Requests and answers are
// JSON; every body is bounded (MaxBody) and every request has a deadline.
//
//	POST   /v1/accounts        {"name"}                              → Account
//	POST   /v1/keys            {"name","account","access_key","secret_key"} → Key (secret shown once)
//	DELETE /v1/keys/{id}                                             → 204
//	GET    /v1/buckets                                               → [Bucket]
//	PUT|GET|DELETE /v1/accounts/{id}/public-access-block (publicaccessblock.go)
package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/mtls"
)

// MaxBody bounds every request body.
const MaxBody = 64 << 10

// Account is an account as the API shows it.
type Account struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// KeyRequest asks for an access key: for account (or a new account named
// Name when empty), with a fixed id and secret when both are given.
type KeyRequest struct {
	Name      string `json:"name,omitempty"`
	Account   string `json:"account,omitempty"`
	AccessKey string `json:"access_key,omitempty"`
	SecretKey string `json:"secret_key,omitempty"`
}

// Key is a created access key; the secret appears only in this answer.
type Key struct {
	AccountID string `json:"account_id"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key"`
}

// Bucket is a bucket as the API lists it.
type Bucket struct {
	Name    string    `json:"name"`
	Region  string    `json:"region"`
	Owner   string    `json:"owner"`
	Created time.Time `json:"created"`
}

// apiError is every error answer's body.
type apiError struct {
	Error string `json:"error"`
}

// Handler serves the API from store. Wrap it in the mTLS policy (Serve
// does): it trusts that the caller was authenticated.
func Handler(store bucketsvc.Store, log *slog.Logger) http.Handler {
	h := &handler{store: store, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/accounts", h.createAccount)
	mux.HandleFunc("POST /v1/keys", h.createKey)
	mux.HandleFunc("DELETE /v1/keys/{id}", h.revokeKey)
	mux.HandleFunc("GET /v1/buckets", h.listBuckets)
	mux.HandleFunc("PUT /v1/accounts/{id}/public-access-block", h.putAccountPAB) // publicaccessblock.go
	mux.HandleFunc("GET /v1/accounts/{id}/public-access-block", h.getAccountPAB)
	mux.HandleFunc("DELETE /v1/accounts/{id}/public-access-block", h.deleteAccountPAB)
	mux.HandleFunc("POST /v1/sse-s3/{region}/rotate", h.rotateSSES3)
	mux.HandleFunc("POST /v1/kms/{region}/{account}/keys", h.createKMSKey)
	mux.HandleFunc("GET /v1/kms/{region}/{account}/keys", h.listKMSKeys)
	return mux
}

type handler struct {
	store bucketsvc.Store
	log   *slog.Logger
}

func (h *handler) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, errBadRequest):
		status = http.StatusBadRequest
	case errors.Is(err, bucketsvc.ErrAccessKeyExists):
		status = http.StatusConflict
	case errors.Is(err, bucketsvc.ErrNoSuchAccessKey), errors.Is(err, bucketsvc.ErrNoSuchAccount):
		status = http.StatusNotFound
	}
	if status == http.StatusInternalServerError {
		h.log.Error("admin api", "path", r.URL.Path, "err", err)
	}
	h.reply(w, status, apiError{Error: err.Error()})
}

var errBadRequest = errors.New("bad request")

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", errBadRequest, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data", errBadRequest)
	}
	return nil
}

func (h *handler) createAccount(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		h.fail(w, r, fmt.Errorf("%w: name is required", errBadRequest))
		return
	}
	a, err := h.store.CreateAccount(r.Context(), bucketsvc.Account{DisplayName: req.Name})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("admin: account created", "account", a.ID, "by", caller(r))
	h.reply(w, http.StatusCreated, Account{ID: a.ID, Name: a.DisplayName})
}

func (h *handler) createKey(w http.ResponseWriter, r *http.Request) {
	var req KeyRequest
	if err := decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if (req.AccessKey == "") != (req.SecretKey == "") {
		h.fail(w, r, fmt.Errorf("%w: access_key and secret_key go together", errBadRequest))
		return
	}
	ctx := r.Context()
	acct := req.Account
	if acct == "" {
		if strings.TrimSpace(req.Name) == "" {
			h.fail(w, r, fmt.Errorf("%w: account or name is required", errBadRequest))
			return
		}
		a, err := h.store.CreateAccount(ctx, bucketsvc.Account{DisplayName: req.Name})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		acct = a.ID
	} else if _, err := h.store.GetAccount(ctx, acct); err != nil {
		h.fail(w, r, err)
		return
	}
	var k bucketsvc.AccessKey
	var err error
	if req.AccessKey != "" {
		k = bucketsvc.AccessKey{ID: req.AccessKey, Secret: req.SecretKey, AccountID: acct, Status: bucketsvc.KeyActive, Created: time.Now().UTC()}
		err = h.store.PutAccessKey(ctx, k)
	} else {
		k, err = h.store.NewAccessKey(ctx, acct)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("admin: access key created", "account", acct, "access_key", k.ID, "by", caller(r))
	h.reply(w, http.StatusCreated, Key{AccountID: acct, AccessKey: k.ID, SecretKey: k.Secret})
}

func (h *handler) revokeKey(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := h.store.RevokeAccessKey(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("admin: access key revoked", "access_key", id, "by", caller(r))
	w.WriteHeader(http.StatusNoContent)
}

func (h *handler) listBuckets(w http.ResponseWriter, r *http.Request) {
	bs, err := h.store.ListBuckets(r.Context(), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Bucket, 0, len(bs))
	for _, b := range bs {
		out = append(out, Bucket{Name: b.Name, Region: b.Region, Owner: b.Owner, Created: b.Created})
	}
	h.reply(w, http.StatusOK, out)
}

// MasterKeyVersion answers a rotation: the region's new SSE-S3 master key
// version (never the key).
type MasterKeyVersion struct {
	Region  string    `json:"region"`
	Version string    `json:"version"`
	Created time.Time `json:"created"`
}

func (h *handler) rotateSSES3(w http.ResponseWriter, r *http.Request) {
	ks, ok := h.store.(bucketsvc.ServerKeyStore)
	if !ok {
		h.fail(w, r, errors.New("adminapi: the catalog keeps no server keys"))
		return
	}
	region := r.PathValue("region")
	k, err := bucketsvc.RotateSSES3Key(r.Context(), ks, region)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "SSE-S3 master key rotated", "region", region, "version", k.ID, "by", caller(r))
	h.reply(w, http.StatusOK, MasterKeyVersion{Region: region, Version: k.ID, Created: k.Created})
}

// KMSKey is a key of the built-in KMS as the API shows it (never its material).
type KMSKey struct {
	KeyID   string    `json:"key_id"`
	ARN     string    `json:"arn"`
	Alias   string    `json:"alias,omitempty"`
	Created time.Time `json:"created"`
}

// KMSKeyRequest is the body of a key creation.
type KMSKeyRequest struct {
	Alias string `json:"alias,omitempty"`
}

func kmsKeyOf(region, account string, k bucketsvc.ServerKey) KMSKey {
	return KMSKey{KeyID: k.ID, ARN: bucketsvc.KMSKeyARN(region, account, k.ID), Alias: k.Name, Created: k.Created}
}

func (h *handler) serverKeys(w http.ResponseWriter, r *http.Request) (bucketsvc.ServerKeyStore, bool) {
	ks, ok := h.store.(bucketsvc.ServerKeyStore)
	if !ok {
		h.fail(w, r, errors.New("adminapi: the catalog keeps no server keys"))
	}
	return ks, ok
}

func (h *handler) createKMSKey(w http.ResponseWriter, r *http.Request) {
	ks, ok := h.serverKeys(w, r)
	if !ok {
		return
	}
	var req KMSKeyRequest
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
			h.fail(w, r, fmt.Errorf("%w: %v", errBadRequest, err))
			return
		}
	}
	region, account := r.PathValue("region"), r.PathValue("account")
	if _, err := h.store.GetAccount(r.Context(), account); err != nil {
		h.fail(w, r, err)
		return
	}
	k, err := bucketsvc.CreateKMSKey(r.Context(), ks, region, account, req.Alias)
	if err != nil {
		if errors.Is(err, bucketsvc.ErrServerKeyExists) {
			err = fmt.Errorf("%w: %v", errBadRequest, err)
		}
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "KMS key created", "region", region, "account", account, "key", k.ID, "alias", k.Name, "by", caller(r))
	h.reply(w, http.StatusCreated, kmsKeyOf(region, account, k))
}

func (h *handler) listKMSKeys(w http.ResponseWriter, r *http.Request) {
	ks, ok := h.serverKeys(w, r)
	if !ok {
		return
	}
	region, account := r.PathValue("region"), r.PathValue("account")
	keys, err := ks.ListServerKeys(r.Context(), bucketsvc.KMSScope(region, account))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]KMSKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, kmsKeyOf(region, account, k))
	}
	h.reply(w, http.StatusOK, out)
}

func caller(r *http.Request) string {
	id, err := mtls.FromRequest(r)
	if err != nil {
		return "?"
	}
	return id.String()
}

// Server serves the API on one listener.
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Listen binds addr and prepares the server: mutual TLS with node's
// certificate, admitting only admin certificates of region.
func Listen(addr string, node *mtls.Node, region string, store bucketsvc.Store, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("adminapi: %w", err)
	}
	policy := mtls.Policy{Region: region, Roles: []mtls.Role{mtls.RoleAdmin}}
	h := http.TimeoutHandler(mtls.Allow(policy, Handler(store, log)), 30*time.Second, `{"error":"timeout"}`)
	srv := &http.Server{Handler: h, TLSConfig: node.ServerConfig().Clone(),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 40 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	return &Server{srv: srv, ln: ln}, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.ServeTLS(s.ln, "", "") }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(sctx)
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// Close stops the server at once.
func (s *Server) Close() error { return s.srv.Close() }

// Client calls the API of one deployment.
type Client struct {
	base string
	hc   *http.Client
}

// NewClient calls the admin API at addr (host:port) with node's (admin)
// certificate, accepting only a gateway's certificate from the same CA.
func NewClient(addr string, node *mtls.Node) *Client {
	tr := &http.Transport{TLSClientConfig: node.ClientConfig(mtls.RoleGateway), ForceAttemptHTTP2: true,
		TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 30 * time.Second}
	return &Client{base: "https://" + addr, hc: &http.Client{Transport: tr, Timeout: 40 * time.Second}}
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin api %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e apiError
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return fmt.Errorf("admin api: %s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("admin api: %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// CreateAccount creates an account named name.
func (c *Client) CreateAccount(ctx context.Context, name string) (Account, error) {
	var a Account
	err := c.do(ctx, http.MethodPost, "/v1/accounts", map[string]string{"name": name}, &a)
	return a, err
}

// CreateKey creates an access key.
func (c *Client) CreateKey(ctx context.Context, req KeyRequest) (Key, error) {
	var k Key
	err := c.do(ctx, http.MethodPost, "/v1/keys", req, &k)
	return k, err
}

// RevokeKey revokes an access key.
func (c *Client) RevokeKey(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/keys/"+id, nil, nil)
}

// ListBuckets lists every bucket.
// RotateSSES3Key adds a new SSE-S3 master key version for region.
func (c *Client) RotateSSES3Key(ctx context.Context, region string) (MasterKeyVersion, error) {
	var v MasterKeyVersion
	err := c.do(ctx, http.MethodPost, "/v1/sse-s3/"+url.PathEscape(region)+"/rotate", nil, &v)
	return v, err
}

// CreateKMSKey creates a key of the built-in KMS for account in region.
func (c *Client) CreateKMSKey(ctx context.Context, region, account, alias string) (KMSKey, error) {
	var k KMSKey
	err := c.do(ctx, http.MethodPost, "/v1/kms/"+url.PathEscape(region)+"/"+url.PathEscape(account)+"/keys", KMSKeyRequest{Alias: alias}, &k)
	return k, err
}

// ListKMSKeys lists account's keys in region.
func (c *Client) ListKMSKeys(ctx context.Context, region, account string) ([]KMSKey, error) {
	var ks []KMSKey
	err := c.do(ctx, http.MethodGet, "/v1/kms/"+url.PathEscape(region)+"/"+url.PathEscape(account)+"/keys", nil, &ks)
	return ks, err
}

func (c *Client) ListBuckets(ctx context.Context) ([]Bucket, error) {
	var bs []Bucket
	err := c.do(ctx, http.MethodGet, "/v1/buckets", nil, &bs)
	return bs, err
}
