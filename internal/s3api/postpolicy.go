package s3api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/internal/s3err"
)

// MaxPostPolicy bounds the base64 policy document of a POST form.
const MaxPostPolicy = 64 << 10

// PostPolicy is the policy document of a browser-form upload (PostObject):
// when it expires and the conditions every form field must meet.
type PostPolicy struct {
	Expiration time.Time
	Conditions []PostCondition
	// LengthMin/LengthMax come from content-length-range (HasLength).
	LengthMin, LengthMax int64
	HasLength            bool
}

// PostCondition is one condition: Op "eq" or "starts-with" on Field (the
// lower-case form field name, without "$").
type PostCondition struct {
	Op, Field, Value string
}

func policyErr(msg string) *s3err.Error {
	return s3err.WithMessage(s3err.InvalidPolicyDocument, "Invalid Policy: "+msg)
}

// ParsePostPolicy decodes the base64 policy field. A document that is not
// base64 JSON with an expiration and a conditions list, or a condition
// S3 does not know, is InvalidPolicyDocument.
func ParsePostPolicy(b64 string) (*PostPolicy, error) {
	if len(b64) > MaxPostPolicy {
		return nil, policyErr("the policy document is too large.")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, policyErr("Invalid Base64 encoding.")
	}
	var doc struct {
		Expiration *string           `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil {
		return nil, policyErr("Invalid JSON.")
	}
	if doc.Expiration == nil {
		return nil, policyErr("Policy missing expiration.")
	}
	p := &PostPolicy{}
	if p.Expiration, err = time.Parse(time.RFC3339Nano, *doc.Expiration); err != nil {
		return nil, policyErr("Invalid 'expiration' value: '" + *doc.Expiration + "'")
	}
	if doc.Conditions == nil {
		return nil, policyErr("Policy missing conditions.")
	}
	for _, c := range doc.Conditions {
		if err := p.addCondition(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *PostPolicy) addCondition(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '{':
		// {"field": "value"}: an exact match.
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil || len(m) != 1 {
			return policyErr("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return policyErr("Invalid Simple-Condition: value must be a string.")
			}
			p.Conditions = append(p.Conditions, PostCondition{Op: "eq", Field: strings.ToLower(strings.TrimPrefix(k, "$")), Value: s})
		}
		return nil
	case len(raw) > 0 && raw[0] == '[':
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var a []any
		if err := dec.Decode(&a); err != nil || len(a) != 3 {
			return policyErr("Invalid Condition: wrong number of arguments.")
		}
		op, _ := a[0].(string)
		switch strings.ToLower(op) {
		case "eq", "starts-with":
			f, ok1 := a[1].(string)
			v, ok2 := a[2].(string)
			if !ok1 || !ok2 || !strings.HasPrefix(f, "$") {
				return policyErr("Invalid Condition: the field must start with '$' and the value be a string.")
			}
			p.Conditions = append(p.Conditions, PostCondition{Op: strings.ToLower(op), Field: strings.ToLower(f[1:]), Value: v})
			return nil
		case "content-length-range":
			lo, err1 := jsonInt(a[1])
			hi, err2 := jsonInt(a[2])
			if err1 != nil || err2 != nil || lo < 0 || hi < lo {
				return policyErr("Invalid content-length-range: the bounds must be integers, 0 ≤ min ≤ max.")
			}
			p.LengthMin, p.LengthMax, p.HasLength = lo, hi, true
			return nil
		}
		return policyErr("Invalid Condition: unknown operator '" + op + "'.")
	}
	return policyErr("Invalid Condition: must be an object or a list.")
}

func jsonInt(v any) (int64, error) {
	switch n := v.(type) {
	case json.Number:
		return strconv.ParseInt(n.String(), 10, 64)
	case string:
		return strconv.ParseInt(n, 10, 64)
	}
	return 0, fmt.Errorf("not an integer")
}

// postExempt are the form fields no condition needs to name (S3: the
// signature fields, the file, the policy, and x-ignore-* fields).
func postExempt(name string) bool {
	switch name {
	case "policy", "x-amz-signature", "signature", "awsaccesskeyid", "file":
		return true
	}
	return strings.HasPrefix(name, "x-ignore-")
}

// Check evaluates the policy at now against the form fields (lower-case
// names; "bucket" is the request's bucket): the policy must not have
// expired, every condition must hold and every field but the exempt ones
// must be named by a condition. A failure is AccessDenied with S3's
// "Invalid according to Policy" message.
func (p *PostPolicy) Check(fields map[string]string, now time.Time) error {
	deny := func(msg string) error {
		return s3err.WithMessage(s3err.AccessDenied, "Invalid according to Policy: "+msg)
	}
	if now.After(p.Expiration) {
		return deny("Policy expired.")
	}
	named := map[string]bool{}
	for _, c := range p.Conditions {
		named[c.Field] = true
		v, present := fields[c.Field]
		ok := false
		switch c.Op {
		case "eq":
			ok = present && v == c.Value
		case "starts-with":
			if c.Field == "content-type" && present {
				// S3 checks each value of a comma-separated Content-Type.
				ok = true
				for part := range strings.SplitSeq(v, ",") {
					ok = ok && strings.HasPrefix(strings.TrimSpace(part), c.Value)
				}
			} else {
				ok = (present || c.Value == "") && strings.HasPrefix(v, c.Value)
			}
		}
		if !ok {
			return deny(fmt.Sprintf("Policy Condition failed: [\"%s\", \"$%s\", \"%s\"]", c.Op, c.Field, c.Value))
		}
	}
	for name := range fields {
		if name != "bucket" && !named[name] && !postExempt(name) {
			return deny("Extra input fields: " + name)
		}
	}
	return nil
}

// CheckLength applies content-length-range to a file of size bytes.
func (p *PostPolicy) CheckLength(size int64) error {
	if !p.HasLength {
		return nil
	}
	if size < p.LengthMin {
		return s3err.WithMessage(s3err.EntityTooSmall, "Your proposed upload is smaller than the minimum allowed size").
			With("ProposedSize", strconv.FormatInt(size, 10)).With("MinSizeAllowed", strconv.FormatInt(p.LengthMin, 10))
	}
	if size > p.LengthMax {
		return s3err.WithMessage(s3err.EntityTooLarge, "Your proposed upload exceeds the maximum allowed size").
			With("ProposedSize", strconv.FormatInt(size, 10)).With("MaxSizeAllowed", strconv.FormatInt(p.LengthMax, 10))
	}
	return nil
}
