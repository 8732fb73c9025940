package s3authz

import (
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type opKind uint8

const (
	opStringEquals opKind = iota + 1
	opStringEqualsIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opBinaryEquals
	opIPAddress
	opArnEquals
	opArnLike
	opNull
)

type opSpec struct {
	kind   opKind
	negate bool
}

// operators: the condition operators of the IAM policy language, without
// the ForAnyValue:/ForAllValues: qualifiers and the IfExists suffix.
var operators = map[string]opSpec{
	"StringEquals":              {opStringEquals, false},
	"StringNotEquals":           {opStringEquals, true},
	"StringEqualsIgnoreCase":    {opStringEqualsIgnoreCase, false},
	"StringNotEqualsIgnoreCase": {opStringEqualsIgnoreCase, true},
	"StringLike":                {opStringLike, false},
	"StringNotLike":             {opStringLike, true},
	"NumericEquals":             {opNumericEquals, false},
	"NumericNotEquals":          {opNumericEquals, true},
	"NumericLessThan":           {opNumericLessThan, false},
	"NumericLessThanEquals":     {opNumericLessThanEquals, false},
	"NumericGreaterThan":        {opNumericGreaterThan, false},
	"NumericGreaterThanEquals":  {opNumericGreaterThanEquals, false},
	"DateEquals":                {opDateEquals, false},
	"DateNotEquals":             {opDateEquals, true},
	"DateLessThan":              {opDateLessThan, false},
	"DateLessThanEquals":        {opDateLessThanEquals, false},
	"DateGreaterThan":           {opDateGreaterThan, false},
	"DateGreaterThanEquals":     {opDateGreaterThanEquals, false},
	"Bool":                      {opBool, false},
	"BinaryEquals":              {opBinaryEquals, false},
	"IpAddress":                 {opIPAddress, false},
	"NotIpAddress":              {opIPAddress, true},
	"ArnEquals":                 {opArnEquals, false},
	"ArnNotEquals":              {opArnEquals, true},
	"ArnLike":                   {opArnLike, false},
	"ArnNotLike":                {opArnLike, true},
	"Null":                      {opNull, false},
}

type setQualifier uint8

const (
	setNone setQualifier = iota
	setAnyValue
	setAllValues
)

// Condition is one (operator, key, values) test of a statement.
type Condition struct {
	Operator string // as written, e.g. "ForAnyValue:StringLikeIfExists"
	Key      string // canonical: lower case up to the first '/' ("s3:existingobjecttag/Project")
	Values   []string

	kind     opKind
	negate   bool
	ifExists bool
	set      setQualifier
	nums     []float64
	times    []int64 // unix nanoseconds
	nets     []netip.Prefix
}

// s3Keys are the S3-specific condition keys a bucket policy may test
// (besides the s3:ExistingObjectTag/, s3:RequestObjectTag/ and
// s3:ResourceAccount families). Global aws:* keys are all admitted.
var s3Keys = map[string]bool{}

func init() {
	for _, k := range []string{
		"s3:prefix", "s3:delimiter", "s3:max-keys", "s3:x-amz-acl", "s3:x-amz-content-sha256",
		"s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id",
		"s3:x-amz-server-side-encryption-customer-algorithm", "s3:x-amz-storage-class",
		"s3:x-amz-grant-read", "s3:x-amz-grant-write", "s3:x-amz-grant-read-acp", "s3:x-amz-grant-write-acp",
		"s3:x-amz-grant-full-control", "s3:x-amz-copy-source", "s3:x-amz-metadata-directive",
		"s3:requestobjecttagkeys", "s3:signatureversion", "s3:authtype", "s3:signatureage", "s3:versionid",
		"s3:object-lock-mode", "s3:object-lock-retain-until-date", "s3:object-lock-remaining-retention-days",
		"s3:object-lock-legal-hold", "s3:locationconstraint", "s3:tlsversion", "s3:resourceaccount",
		"s3:x-amz-object-ownership", "s3:objectcreationoperation", "s3:if-match", "s3:if-none-match",
		"s3:x-amz-server-side-encryption-context", "s3:accesspointnetworkorigin", "s3:dataaccesspointarn",
		"s3:dataaccesspointaccount", "s3:existingjobpriority", "s3:existingjoboperation", "s3:requestjobpriority",
		"s3:requestjoboperation", "s3:x-amz-checksum-algorithm",
	} {
		s3Keys[k] = true
	}
}

// CanonicalKey is the form condition keys are compared in: IAM key names
// are case-insensitive, the tag key after '/' is not.
func CanonicalKey(k string) string {
	if isCanonical(k) {
		return k
	}
	name, rest, hasRest := strings.Cut(k, "/")
	lname := strings.ToLower(name)
	if !hasRest {
		return lname
	}
	return lname + "/" + rest
}

// isCanonical: no upper-case letter before the first '/'.
func isCanonical(k string) bool {
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case c == '/':
			return true
		case 'A' <= c && c <= 'Z':
			return false
		}
	}
	return true
}

func validKey(k string) bool {
	switch {
	case strings.HasPrefix(k, "aws:") && len(k) > 4:
		return true
	case strings.HasPrefix(k, "s3:existingobjecttag/"), strings.HasPrefix(k, "s3:requestobjecttag/"):
		return len(k) > len("s3:existingobjecttag/")-1
	}
	return s3Keys[k]
}

func parseConditions(v any) ([]Condition, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, malformed("Condition is not well formatted")
	}
	var out []Condition
	for opName, body := range m {
		c := Condition{Operator: opName}
		name := opName
		if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
			c.set, name = setAnyValue, rest
		} else if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
			c.set, name = setAllValues, rest
		}
		if rest, ok := strings.CutSuffix(name, "IfExists"); ok && rest != "Null" {
			c.ifExists, name = true, rest
		}
		spec, ok := operators[name]
		if !ok {
			return nil, malformed("Invalid Condition type : %s", opName)
		}
		c.kind, c.negate = spec.kind, spec.negate
		keys, ok := body.(map[string]any)
		if !ok || len(keys) == 0 {
			return nil, malformed("Condition is not well formatted")
		}
		for key, vals := range keys {
			cc := c
			cc.Key = CanonicalKey(key)
			if !validKey(cc.Key) {
				return nil, malformed("Policy has an invalid condition key")
			}
			values, ok := conditionValues(vals)
			if !ok {
				return nil, malformed("Invalid Condition value for %s", key)
			}
			cc.Values = values
			if err := cc.prepare(); err != nil {
				return nil, err
			}
			out = append(out, cc)
		}
	}
	return out, nil
}

// conditionValues: a string, number or boolean, or a non-empty array of them.
func conditionValues(v any) ([]string, bool) {
	one := func(e any) (string, bool) {
		switch x := e.(type) {
		case string:
			return x, true
		case json.Number:
			return x.String(), true
		case bool:
			return strconv.FormatBool(x), true
		}
		return "", false
	}
	if arr, ok := v.([]any); ok {
		if len(arr) == 0 {
			return nil, false
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, ok := one(e)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	s, ok := one(v)
	if !ok {
		return nil, false
	}
	return []string{s}, true
}

// prepare parses the values of typed operators once.
func (c *Condition) prepare() error {
	bad := func() error { return malformed("Invalid Condition value for %s", c.Key) }
	switch c.kind {
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		for _, v := range c.Values {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return bad()
			}
			c.nums = append(c.nums, f)
		}
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		for _, v := range c.Values {
			t, ok := parseDate(v)
			if !ok {
				return bad()
			}
			c.times = append(c.times, t)
		}
	case opIPAddress:
		for _, v := range c.Values {
			p, err := parsePrefix(v)
			if err != nil {
				return bad()
			}
			c.nets = append(c.nets, p)
		}
	case opBool, opNull:
		for _, v := range c.Values {
			if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
				return bad()
			}
		}
	}
	return nil
}

func parsePrefix(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return p, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// parseDate reads an ISO 8601 date or time, or epoch seconds.
func parseDate(v string) (int64, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UnixNano(), true
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0).UnixNano(), true
	}
	return 0, false
}

// eval tests the condition against the request context.
func (c *Condition) eval(ctx *Context) bool {
	vals, present := ctx.lookup(c.Key)
	if c.kind == opNull {
		want := strings.EqualFold(c.Values[0], "true")
		return want == (!present || len(vals) == 0)
	}
	if !present || len(vals) == 0 {
		switch {
		case c.ifExists:
			return true
		case c.set == setAllValues:
			return true
		case c.set == setAnyValue:
			return false
		}
		return c.negate
	}
	switch c.set {
	case setAllValues:
		for _, rv := range vals {
			if c.matchAny(rv) == c.negate {
				return false
			}
		}
		return true
	case setAnyValue:
		for _, rv := range vals {
			if c.matchAny(rv) != c.negate {
				return true
			}
		}
		return false
	}
	for _, rv := range vals {
		if c.matchAny(rv) {
			return !c.negate
		}
	}
	return c.negate
}

// matchAny: the request value matches one of the policy's values (the
// positive operator).
func (c *Condition) matchAny(rv string) bool {
	switch c.kind {
	case opStringEquals, opBinaryEquals:
		for _, v := range c.Values {
			if rv == v {
				return true
			}
		}
	case opStringEqualsIgnoreCase:
		for _, v := range c.Values {
			if strings.EqualFold(rv, v) {
				return true
			}
		}
	case opStringLike, opArnLike, opArnEquals:
		for _, v := range c.Values {
			if wildMatch(v, rv, false) {
				return true
			}
		}
	case opBool:
		for _, v := range c.Values {
			if strings.EqualFold(rv, v) {
				return true
			}
		}
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		f, err := strconv.ParseFloat(rv, 64)
		if err != nil {
			return false
		}
		for _, n := range c.nums {
			if compare(c.kind, f, n) {
				return true
			}
		}
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		t, ok := parseDate(rv)
		if !ok {
			return false
		}
		for _, n := range c.times {
			if compare(c.kind, float64(t), float64(n)) {
				return true
			}
		}
	case opIPAddress:
		a, err := netip.ParseAddr(rv)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range c.nets {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

func compare(k opKind, a, b float64) bool {
	switch k {
	case opNumericEquals, opDateEquals:
		return a == b
	case opNumericLessThan, opDateLessThan:
		return a < b
	case opNumericLessThanEquals, opDateLessThanEquals:
		return a <= b
	case opNumericGreaterThan, opDateGreaterThan:
		return a > b
	case opNumericGreaterThanEquals, opDateGreaterThanEquals:
		return a >= b
	}
	return false
}

// Context holds a request's condition keys and values. The zero value is
// empty; Set adds or replaces a key.
type Context struct {
	kv []contextValue
}

type contextValue struct {
	key  string
	vals []string
}

// Set sets key (any case) to vals. No values: the key is absent.
func (c *Context) Set(key string, vals ...string) {
	key = CanonicalKey(key)
	for i := range c.kv {
		if c.kv[i].key == key {
			c.kv[i].vals = vals
			return
		}
	}
	if c.kv == nil {
		c.kv = make([]contextValue, 0, 16)
	}
	c.kv = append(c.kv, contextValue{key, vals})
}

// Get returns key's values.
func (c *Context) Get(key string) ([]string, bool) { return c.lookup(CanonicalKey(key)) }

func (c *Context) lookup(key string) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	for i := range c.kv {
		if c.kv[i].key == key {
			return c.kv[i].vals, len(c.kv[i].vals) > 0
		}
	}
	return nil, false
}
