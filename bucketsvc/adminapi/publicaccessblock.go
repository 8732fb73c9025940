package adminapi

// An account's Block Public Access (docs/access-control.md):
//
//	PUT    /v1/accounts/{id}/public-access-block  PublicAccessBlock → PublicAccessBlock
//	GET    /v1/accounts/{id}/public-access-block                    → PublicAccessBlock (404: none)
//	DELETE /v1/accounts/{id}/public-access-block                    → 204

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/meridian-s3/meridian/bucketsvc"
	"github.com/meridian-s3/meridian/internal/s3authz"
)

// errNoPAB: the account has no configuration (404).
var errNoPAB = errors.New("adminapi: the account has no public access block configuration")

func (h *handler) accountPABs(w http.ResponseWriter, r *http.Request) (bucketsvc.AccountPublicAccessBlocks, string, bool) {
	ps, ok := h.store.(bucketsvc.AccountPublicAccessBlocks)
	if !ok {
		h.fail(w, r, errors.New("adminapi: the catalog keeps no account settings"))
		return nil, "", false
	}
	id := r.PathValue("id")
	if _, err := h.store.GetAccount(r.Context(), id); err != nil {
		h.fail(w, r, err)
		return nil, "", false
	}
	return ps, id, true
}

func (h *handler) putAccountPAB(w http.ResponseWriter, r *http.Request) {
	ps, id, ok := h.accountPABs(w, r)
	if !ok {
		return
	}
	var p s3authz.PublicAccessBlock
	if err := decode(r, &p); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := ps.PutAccountPublicAccessBlock(r.Context(), id, &p); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "admin: account public access block set", "account", id, "block_public_acls", p.BlockPublicAcls,
		"ignore_public_acls", p.IgnorePublicAcls, "block_public_policy", p.BlockPublicPolicy, "restrict_public_buckets", p.RestrictPublicBuckets, "by", caller(r))
	h.reply(w, http.StatusOK, p)
}

func (h *handler) getAccountPAB(w http.ResponseWriter, r *http.Request) {
	ps, id, ok := h.accountPABs(w, r)
	if !ok {
		return
	}
	p, err := ps.GetAccountPublicAccessBlock(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p == nil {
		h.reply(w, http.StatusNotFound, apiError{Error: errNoPAB.Error()})
		return
	}
	h.reply(w, http.StatusOK, p)
}

func (h *handler) deleteAccountPAB(w http.ResponseWriter, r *http.Request) {
	ps, id, ok := h.accountPABs(w, r)
	if !ok {
		return
	}
	if err := ps.PutAccountPublicAccessBlock(r.Context(), id, nil); err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "admin: account public access block deleted", "account", id, "by", caller(r))
	w.WriteHeader(http.StatusNoContent)
}

func pabPath(account string) string {
	return "/v1/accounts/" + url.PathEscape(account) + "/public-access-block"
}

// PutAccountPublicAccessBlock sets account's Block Public Access.
func (c *Client) PutAccountPublicAccessBlock(ctx context.Context, account string, p s3authz.PublicAccessBlock) (s3authz.PublicAccessBlock, error) {
	var out s3authz.PublicAccessBlock
	err := c.do(ctx, http.MethodPut, pabPath(account), p, &out)
	return out, err
}

// GetAccountPublicAccessBlock returns account's Block Public Access.
func (c *Client) GetAccountPublicAccessBlock(ctx context.Context, account string) (s3authz.PublicAccessBlock, error) {
	var out s3authz.PublicAccessBlock
	err := c.do(ctx, http.MethodGet, pabPath(account), nil, &out)
	return out, err
}

// DeleteAccountPublicAccessBlock removes account's Block Public Access.
func (c *Client) DeleteAccountPublicAccessBlock(ctx context.Context, account string) error {
	return c.do(ctx, http.MethodDelete, pabPath(account), nil, nil)
}
