package metapb

import "time"

// Object Lock (docs/object-lock.md). A version's retention and legal hold
// live in its record (ObjectVersion.Lock) and are enforced by the
// partition's state machine: a command that would remove a protected
// version — a delete by version id, the null version's delete or
// replacement — fails with ErrObjectLocked, whoever sends it (gateway,
// lifecycle, a bug). "Protected" is judged against the command's Time (the
// leader's clock): an active retention (Time before Until) protects unless
// its Mode is GOVERNANCE and the command carries BypassGovernance; a legal
// hold protects until it is removed. The rules are internal/s3lock's.

// ObjectLock is a version's Object Lock state. Mode is "GOVERNANCE" or
// "COMPLIANCE" with Until, or "" (no retention).
type ObjectLock struct {
	Mode      string    `json:"mode,omitempty"`
	Until     time.Time `json:"until,omitzero"`
	LegalHold bool      `json:"hold,omitempty"`
}

// ErrObjectLocked: the command would remove or weaken a version its
// retention or legal hold protects.
const ErrObjectLocked = "ObjectLocked"

// PutLockRequest changes one committed version's Object Lock state (Ver:
// "null" or an id; required): Retention, when set, replaces its retention
// (Mode "" removes it) — allowed only as internal/s3lock.RetentionChange
// says (ErrObjectLocked otherwise); LegalHold, when set, turns the legal
// hold on or off. A delete marker answers ErrMethodNotAllowed, an absent
// version ErrNotFound. Result.Version is the record after the change. No
// feed entry is written: lock changes are not replicated.
type PutLockRequest struct {
	Bucket           string      `json:"bucket"`
	Key              string      `json:"key"`
	Ver              string      `json:"ver"`
	Retention        *ObjectLock `json:"retention,omitempty"` // Mode and Until only
	LegalHold        *bool       `json:"hold,omitempty"`
	BypassGovernance bool        `json:"bypassgov,omitempty"`
}
