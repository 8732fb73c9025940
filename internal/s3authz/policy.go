package s3authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// MaxPolicySize is S3's limit on a bucket policy document: 20 KB.
const MaxPolicySize = 20 << 10

// PolicyError is a bucket policy S3 refuses, with the message S3 gives
// (answered as MalformedPolicy, 400).
type PolicyError struct{ Msg string }

func (e *PolicyError) Error() string { return "s3authz: malformed policy: " + e.Msg }

// ErrPolicyTooLarge: the document exceeds MaxPolicySize.
var ErrPolicyTooLarge = &PolicyError{Msg: "Policy exceeds the maximum allowed document size."}

func malformed(format string, args ...any) *PolicyError {
	return &PolicyError{Msg: fmt.Sprintf(format, args...)}
}

// Effect of a statement.
type Effect uint8

const (
	EffectAllow Effect = iota + 1
	EffectDeny
)

// Policy is a parsed, validated bucket policy. Evaluate reads it
// concurrently; it is never modified after ParsePolicy.
type Policy struct {
	Version    string
	ID         string
	Statements []Statement
	// needsObject: a condition reads s3:ExistingObjectTag/<key>, so object
	// requests need the object's record before the decision.
	needsObject bool
}

// Statement is one statement of a policy.
type Statement struct {
	Sid          string
	Effect       Effect
	Principal    Principals // Principal, or NotPrincipal when NotPrincipal
	NotPrincipal bool
	Actions      []string // lower-case patterns ("s3:get*"); NotAction when NotAction
	NotAction    bool
	Resources    []string // patterns after "arn:aws:s3:::" ("bucket/key*")
	NotResource  bool
	Conditions   []Condition
}

// Principals is a statement's principal set: everyone, or accounts.
type Principals struct {
	Any      bool
	Accounts []string
	// Services are service principals ({"Service": …}); Meridian has no
	// service callers, so they never match a request.
	Services []string
}

// NeedsObject reports whether evaluating the policy for an object request
// needs the object's record (its tags). Nil-safe.
func (p *Policy) NeedsObject() bool { return p != nil && p.needsObject }

// ParsePolicy parses and validates a bucket policy for bucket.
func ParsePolicy(doc []byte, bucket string) (*Policy, error) {
	if len(doc) > MaxPolicySize {
		return nil, ErrPolicyTooLarge
	}
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, malformed("Policies must be valid JSON and the first byte must be '{'")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, malformed("This policy contains invalid Json")
	}
	if dec.More() {
		return nil, malformed("This policy contains invalid Json")
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, malformed("Policies must be valid JSON and the first byte must be '{'")
	}
	p := &Policy{}
	for k, v := range top {
		switch k {
		case "Version":
			s, ok := v.(string)
			if !ok || (s != "2012-10-17" && s != "2008-10-17") {
				return nil, malformed("Policy has an invalid version")
			}
			p.Version = s
		case "Id":
			s, ok := v.(string)
			if !ok {
				return nil, malformed("Policy has an invalid Id")
			}
			p.ID = s
		case "Statement":
		default:
			return nil, malformed("Unknown field %s", k)
		}
	}
	st, ok := top["Statement"]
	if !ok {
		return nil, malformed("Missing required field Statement")
	}
	var stmts []any
	switch s := st.(type) {
	case map[string]any:
		stmts = []any{s}
	case []any:
		stmts = s
	default:
		return nil, malformed("Statement is not well formatted")
	}
	if len(stmts) == 0 {
		return nil, malformed("Could not parse the policy: Statement is empty!")
	}
	sids := map[string]bool{}
	for _, s := range stmts {
		m, ok := s.(map[string]any)
		if !ok {
			return nil, malformed("Statement is not well formatted")
		}
		stmt, err := parseStatement(m, bucket)
		if err != nil {
			return nil, err
		}
		if stmt.Sid != "" {
			if sids[stmt.Sid] {
				return nil, malformed("Statement IDs (SID) in a single policy must be unique")
			}
			sids[stmt.Sid] = true
		}
		for _, c := range stmt.Conditions {
			if strings.HasPrefix(c.Key, "s3:existingobjecttag/") {
				p.needsObject = true
			}
		}
		p.Statements = append(p.Statements, stmt)
	}
	return p, nil
}

func parseStatement(m map[string]any, bucket string) (Statement, error) {
	var s Statement
	for k := range m {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return s, malformed("Unknown field %s", k)
		}
	}
	if v, ok := m["Sid"]; ok {
		sid, ok := v.(string)
		if !ok {
			return s, malformed("Statement IDs (SID) must be strings")
		}
		s.Sid = sid
	}
	switch e := m["Effect"].(type) {
	case nil:
		return s, malformed("Missing required field Effect")
	case string:
		switch e {
		case "Allow":
			s.Effect = EffectAllow
		case "Deny":
			s.Effect = EffectDeny
		default:
			return s, malformed("Invalid effect: %s", e)
		}
	default:
		return s, malformed("Invalid effect: %v", e)
	}
	pv, hasP := m["Principal"]
	npv, hasNP := m["NotPrincipal"]
	switch {
	case hasP && hasNP:
		return s, malformed("Invalid principal in policy")
	case hasP:
		p, err := parsePrincipal(pv)
		if err != nil {
			return s, err
		}
		s.Principal = p
	case hasNP:
		p, err := parsePrincipal(npv)
		if err != nil {
			return s, err
		}
		s.Principal, s.NotPrincipal = p, true
	default:
		return s, malformed("Missing required field Principal")
	}

	av, hasA := m["Action"]
	nav, hasNA := m["NotAction"]
	switch {
	case hasA && hasNA:
		return s, malformed("Policy has invalid action")
	case hasA:
		s.Actions = stringList(av)
	case hasNA:
		s.Actions, s.NotAction = stringList(nav), true
	default:
		return s, malformed("Missing required field Action")
	}
	if s.Actions == nil {
		return s, malformed("Policy has invalid action")
	}
	for i, a := range s.Actions {
		la := strings.ToLower(a)
		if !validActionPattern(la) {
			return s, malformed("Policy has invalid action")
		}
		s.Actions[i] = la
	}

	rv, hasR := m["Resource"]
	nrv, hasNR := m["NotResource"]
	switch {
	case hasR && hasNR:
		return s, malformed("Policy has invalid resource")
	case hasR:
		s.Resources = stringList(rv)
	case hasNR:
		s.Resources, s.NotResource = stringList(nrv), true
	default:
		return s, malformed("Missing required field Resource")
	}
	if s.Resources == nil {
		return s, malformed("Policy has invalid resource")
	}
	for i, r := range s.Resources {
		rest, ok := strings.CutPrefix(r, "arn:aws:s3:::")
		if !ok || rest == "" {
			return s, malformed("Policy has invalid resource")
		}
		b, _, _ := strings.Cut(rest, "/")
		if !wildMatch(b, bucket, false) {
			return s, malformed("Policy has invalid resource")
		}
		s.Resources[i] = rest
	}
	if !s.NotAction && !s.NotResource && !actionsApply(s.Actions, s.Resources) {
		return s, malformed("Action does not apply to any resource(s) in statement")
	}
	if cv, ok := m["Condition"]; ok {
		cs, err := parseConditions(cv)
		if err != nil {
			return s, err
		}
		s.Conditions = cs
	}
	return s, nil
}

// stringList reads a string or a non-empty array of strings; nil otherwise.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	return nil
}

// parsePrincipal: "*", {"AWS": "*" | account | ARN | [..]},
// {"CanonicalUser": id | [..]}, {"Service": name | [..]}.
func parsePrincipal(v any) (Principals, error) {
	var p Principals
	bad := malformed("Invalid principal in policy")
	switch x := v.(type) {
	case string:
		if x != "*" {
			return p, bad
		}
		p.Any = true
		return p, nil
	case map[string]any:
		if len(x) == 0 {
			return p, bad
		}
		for k, val := range x {
			ids := stringList(val)
			if ids == nil {
				return p, bad
			}
			for _, id := range ids {
				switch k {
				case "AWS":
					if id == "*" {
						p.Any = true
						continue
					}
					acct, ok := accountOf(id)
					if !ok {
						return p, bad
					}
					p.Accounts = append(p.Accounts, acct)
				case "CanonicalUser":
					if !validAccountID(id) {
						return p, bad
					}
					p.Accounts = append(p.Accounts, id)
				case "Service":
					if id == "" {
						return p, bad
					}
					p.Services = append(p.Services, id)
				default:
					return p, bad
				}
			}
		}
		return p, nil
	}
	return p, bad
}

// accountOf maps an AWS principal to a Meridian account id: the id itself,
// arn:aws:iam::<id>:root, or a user/role ARN of the account
// (arn:aws:iam::<id>:user/<name>): Meridian accounts have no IAM users, so
// a user ARN stands for its account.
func accountOf(s string) (string, bool) {
	if rest, ok := strings.CutPrefix(s, "arn:aws:iam::"); ok {
		acct, res, ok := strings.Cut(rest, ":")
		if !ok || !validAccountID(acct) {
			return "", false
		}
		if res == "root" || strings.HasPrefix(res, "user/") || strings.HasPrefix(res, "role/") {
			return acct, true
		}
		return "", false
	}
	if validAccountID(s) {
		return s, true
	}
	return "", false
}

func validAccountID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validActionPattern: "*", or "s3:" followed by a known action or a
// pattern (with * or ?) matching at least one known action.
func validActionPattern(la string) bool {
	if la == "*" {
		return true
	}
	if !strings.HasPrefix(la, "s3:") {
		return false
	}
	if !strings.ContainsAny(la, "*?") {
		_, ok := actionKinds[la]
		return ok
	}
	for a := range actionKinds {
		if wildMatch(la, a, false) {
			return true
		}
	}
	return false
}

// actionsApply reports whether some action applies to some resource: an
// object action to a resource with a key part, a bucket action to one
// without (a wildcard in the bucket part may stand for either).
func actionsApply(actions, resources []string) bool {
	var kinds ResourceKind
	for _, a := range actions {
		if a == "*" || a == "s3:*" {
			return true
		}
		if !strings.ContainsAny(a, "*?") {
			kinds |= actionKinds[a]
			continue
		}
		for name, k := range actionKinds {
			if wildMatch(a, name, false) {
				kinds |= k
			}
		}
	}
	for _, r := range resources {
		b, _, hasKey := strings.Cut(r, "/")
		switch {
		case hasKey && kinds&OnObject != 0:
			return true
		case !hasKey && kinds&OnBucket != 0:
			return true
		case !hasKey && strings.ContainsAny(b, "*") && kinds&OnObject != 0:
			return true // "bucket*" also matches "bucket/key"
		}
	}
	return false
}
