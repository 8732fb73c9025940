// Package s3err is the one registry that maps Meridian errors to S3 errors:
// code, message and HTTP status, written as the XML body AWS S3 sends.
//
// Parts return their own sentinel or typed errors; the HTTP boundary (the
// regional gateway, later the edge) translates them here, once.
package s3err

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
)

// Code is an S3 error code such as "NoSuchKey".
type Code string

// The S3 error codes Meridian answers with.
const (
	AccessDenied                        Code = "AccessDenied"
	AuthorizationHeaderMalformed        Code = "AuthorizationHeaderMalformed"
	AuthorizationQueryParametersEr      Code = "AuthorizationQueryParametersError"
	BadDigest                           Code = "BadDigest"
	BucketAlreadyExists                 Code = "BucketAlreadyExists"
	BucketAlreadyOwnedByYou             Code = "BucketAlreadyOwnedByYou"
	BucketNotEmpty                      Code = "BucketNotEmpty"
	EntityTooLarge                      Code = "EntityTooLarge"
	EntityTooSmall                      Code = "EntityTooSmall"
	ExpiredToken                        Code = "ExpiredToken"
	IncompleteBody                      Code = "IncompleteBody"
	InternalError                       Code = "InternalError"
	InvalidAccessKeyID                  Code = "InvalidAccessKeyId"
	InvalidArgument                     Code = "InvalidArgument"
	InvalidBucketName                   Code = "InvalidBucketName"
	InvalidBucketState                  Code = "InvalidBucketState"
	InvalidDigest                       Code = "InvalidDigest"
	InvalidPart                         Code = "InvalidPart"
	InvalidPartOrder                    Code = "InvalidPartOrder"
	InvalidRange                        Code = "InvalidRange"
	InvalidRequest                      Code = "InvalidRequest"
	InvalidLocationConstraint           Code = "InvalidLocationConstraint"
	IllegalLocationConstraint           Code = "IllegalLocationConstraintException"
	KeyTooLongError                     Code = "KeyTooLongError"
	MalformedXML                        Code = "MalformedXML"
	MetadataTooLarge                    Code = "MetadataTooLarge"
	MethodNotAllowed                    Code = "MethodNotAllowed"
	MissingContentLength                Code = "MissingContentLength"
	MissingSecurityHeader               Code = "MissingSecurityHeader"
	NoSuchBucket                        Code = "NoSuchBucket"
	NoSuchKey                           Code = "NoSuchKey"
	NoSuchUpload                        Code = "NoSuchUpload"
	NoSuchVersion                       Code = "NoSuchVersion"
	IllegalVersioningConfiguration      Code = "IllegalVersioningConfigurationException"
	NotImplemented                      Code = "NotImplemented"
	NotModified                         Code = "NotModified"
	OperationAborted                    Code = "OperationAborted"
	PreconditionFailed                  Code = "PreconditionFailed"
	RequestHeaderSectionTooLarge        Code = "RequestHeaderSectionTooLarge"
	RequestTimeTooSkewed                Code = "RequestTimeTooSkewed"
	RequestTimeout                      Code = "RequestTimeout"
	ServiceUnavailable                  Code = "ServiceUnavailable"
	SignatureDoesNotMatch               Code = "SignatureDoesNotMatch"
	SlowDown                            Code = "SlowDown"
	XAmzContentSHA256Mismatch           Code = "XAmzContentSHA256Mismatch"
	InvalidChunkSizeError               Code = "InvalidChunkSizeError"
	MalformedTrailerError               Code = "MalformedTrailerError"
	InvalidPartNumber                   Code = "InvalidPartNumber"
	InvalidStorageClass                 Code = "InvalidStorageClass"
	AccessControlListNotSupported       Code = "AccessControlListNotSupported"
	InvalidBucketACLWithObjectOwnership Code = "InvalidBucketAclWithObjectOwnership"
	// ACLs (internal/s3acl).
	MalformedACLError               Code = "MalformedACLError"
	UnresolvableGrantByEmailAddress Code = "UnresolvableGrantByEmailAddress"
	// Not-found answers for configurations, and unparsable URIs (route table, regional/defaults.go).
	InvalidURI                    Code = "InvalidURI"
	NoSuchBucketPolicy            Code = "NoSuchBucketPolicy"
	NoSuchConfiguration           Code = "NoSuchConfiguration"
	NoSuchCORSConfiguration       Code = "NoSuchCORSConfiguration"
	NoSuchLifecycleConfiguration  Code = "NoSuchLifecycleConfiguration"
	NoSuchPublicAccessBlockConfig Code = "NoSuchPublicAccessBlockConfiguration"
	NoSuchTagSet                  Code = "NoSuchTagSet"
	NoSuchWebsiteConfiguration    Code = "NoSuchWebsiteConfiguration"
	ObjectLockConfigNotFound      Code = "ObjectLockConfigurationNotFoundError"
	// NoSuchObjectLockConfiguration: a version without retention (or legal hold).
	NoSuchObjectLockConfiguration Code = "NoSuchObjectLockConfiguration"
	OwnershipControlsNotFound     Code = "OwnershipControlsNotFoundError"
	ReplicationConfigNotFound     Code = "ReplicationConfigurationNotFoundError"
	SSEConfigNotFound             Code = "ServerSideEncryptionConfigurationNotFoundError"
	// SSE-KMS: the key id names no key (regional/sse.go).
	KMSNotFound Code = "KMS.NotFoundException"
	// Tagging (internal/s3api/tagging.go).
	InvalidTag Code = "InvalidTag"
	BadRequest Code = "BadRequest"
)

type entry struct {
	status  int
	message string
}

// registry: code → HTTP status and the default message AWS sends.
var registry = map[Code]entry{
	AccessDenied:                        {http.StatusForbidden, "Access Denied"},
	AuthorizationHeaderMalformed:        {http.StatusBadRequest, "The authorization header is malformed."},
	AuthorizationQueryParametersEr:      {http.StatusBadRequest, "Error parsing the X-Amz-Credential parameter."},
	BadDigest:                           {http.StatusBadRequest, "The Content-MD5 you specified did not match what we received."},
	BucketAlreadyExists:                 {http.StatusConflict, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again."},
	BucketAlreadyOwnedByYou:             {http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."},
	BucketNotEmpty:                      {http.StatusConflict, "The bucket you tried to delete is not empty"},
	EntityTooLarge:                      {http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."},
	EntityTooSmall:                      {http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size."},
	ExpiredToken:                        {http.StatusBadRequest, "The provided token has expired."},
	IncompleteBody:                      {http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
	InternalError:                       {http.StatusInternalServerError, "We encountered an internal error. Please try again."},
	InvalidAccessKeyID:                  {http.StatusForbidden, "The AWS Access Key Id you provided does not exist in our records."},
	InvalidArgument:                     {http.StatusBadRequest, "Invalid Argument"},
	InvalidBucketName:                   {http.StatusBadRequest, "The specified bucket is not valid."},
	InvalidBucketState:                  {http.StatusConflict, "The request is not valid with the current state of the bucket."},
	InvalidDigest:                       {http.StatusBadRequest, "The Content-MD5 you specified is not valid."},
	InvalidPart:                         {http.StatusBadRequest, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag."},
	InvalidPartOrder:                    {http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number."},
	InvalidRange:                        {http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable"},
	InvalidRequest:                      {http.StatusBadRequest, "Invalid Request"},
	InvalidLocationConstraint:           {http.StatusBadRequest, "The specified location-constraint is not valid"},
	IllegalLocationConstraint:           {http.StatusBadRequest, "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to."},
	KeyTooLongError:                     {http.StatusBadRequest, "Your key is too long"},
	MalformedXML:                        {http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema"},
	MetadataTooLarge:                    {http.StatusBadRequest, "Your metadata headers exceed the maximum allowed metadata size."},
	MethodNotAllowed:                    {http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."},
	MissingContentLength:                {http.StatusLengthRequired, "You must provide the Content-Length HTTP header."},
	MissingSecurityHeader:               {http.StatusBadRequest, "Your request is missing a required header."},
	NoSuchBucket:                        {http.StatusNotFound, "The specified bucket does not exist"},
	NoSuchKey:                           {http.StatusNotFound, "The specified key does not exist."},
	NoSuchVersion:                       {http.StatusNotFound, "The specified version does not exist."},
	IllegalVersioningConfiguration:      {http.StatusBadRequest, "The Versioning element must be specified"},
	NoSuchUpload:                        {http.StatusNotFound, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."},
	NotImplemented:                      {http.StatusNotImplemented, "A header you provided implies functionality that is not implemented"},
	NotModified:                         {http.StatusNotModified, "Not Modified"},
	OperationAborted:                    {http.StatusConflict, "A conflicting conditional operation is currently in progress against this resource. Try again."},
	PreconditionFailed:                  {http.StatusPreconditionFailed, "At least one of the pre-conditions you specified did not hold"},
	RequestHeaderSectionTooLarge:        {http.StatusBadRequest, "Your request header section exceeds the maximum allowed size."},
	RequestTimeTooSkewed:                {http.StatusForbidden, "The difference between the request time and the current time is too large."},
	RequestTimeout:                      {http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period."},
	ServiceUnavailable:                  {http.StatusServiceUnavailable, "Please reduce your request rate."},
	SignatureDoesNotMatch:               {http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	SlowDown:                            {http.StatusServiceUnavailable, "Please reduce your request rate."},
	XAmzContentSHA256Mismatch:           {http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."},
	InvalidChunkSizeError:               {http.StatusForbidden, "Only the last chunk is allowed to have a size less than 8192 bytes"},
	MalformedTrailerError:               {http.StatusBadRequest, "The request contained trailing data that was not well-formed or did not conform to our published schema."},
	InvalidPartNumber:                   {http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable"},
	InvalidStorageClass:                 {http.StatusBadRequest, "The storage class you specified is not valid"},
	AccessControlListNotSupported:       {http.StatusBadRequest, "The bucket does not allow ACLs"},
	InvalidBucketACLWithObjectOwnership: {http.StatusBadRequest, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"},
	MalformedACLError:                   {http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema"},
	UnresolvableGrantByEmailAddress:     {http.StatusBadRequest, "The email address you provided does not match any account on record."},
	InvalidURI:                          {http.StatusBadRequest, "Couldn't parse the specified URI."},
	NoSuchBucketPolicy:                  {http.StatusNotFound, "The bucket policy does not exist"},
	NoSuchConfiguration:                 {http.StatusNotFound, "The specified configuration does not exist."},
	NoSuchCORSConfiguration:             {http.StatusNotFound, "The CORS configuration does not exist"},
	NoSuchLifecycleConfiguration:        {http.StatusNotFound, "The lifecycle configuration does not exist"},
	NoSuchPublicAccessBlockConfig:       {http.StatusNotFound, "The public access block configuration was not found"},
	NoSuchTagSet:                        {http.StatusNotFound, "The TagSet does not exist"},
	NoSuchWebsiteConfiguration:          {http.StatusNotFound, "The specified bucket does not have a website configuration"},
	ObjectLockConfigNotFound:            {http.StatusNotFound, "Object Lock configuration does not exist for this bucket"},
	NoSuchObjectLockConfiguration:       {http.StatusNotFound, "The specified object does not have a ObjectLock configuration"},
	OwnershipControlsNotFound:           {http.StatusNotFound, "The bucket ownership controls were not found"},
	ReplicationConfigNotFound:           {http.StatusNotFound, "The replication configuration was not found"},
	SSEConfigNotFound:                   {http.StatusNotFound, "The server side encryption configuration was not found"},
	KMSNotFound:                         {http.StatusBadRequest, "Invalid keyId"},
	InvalidTag:                          {http.StatusBadRequest, "The tag provided was not a valid tag."},
	BadRequest:                          {http.StatusBadRequest, "Bad Request"},
}

// Error is an S3 error ready to be written. Build one with New or Newf;
// parts below the HTTP boundary return their own errors instead.
type Error struct {
	Code     Code
	Message  string
	Status   int
	Resource string
	// Extra elements written inside <Error>, e.g. BucketName, Key, ArgumentName.
	Extra []Field
}

// Field is an extra XML element in an error body.
type Field struct {
	Name, Value string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// New returns the registry's error for code with its default message.
func New(code Code) *Error {
	ent, ok := registry[code]
	if !ok {
		ent = registry[InternalError]
	}
	return &Error{Code: code, Message: ent.message, Status: ent.status}
}

// WithMessage returns code's error with a specific message.
func WithMessage(code Code, msg string) *Error {
	e := New(code)
	e.Message = msg
	return e
}

// With adds an extra element to the error body and returns e.
func (e *Error) With(name, value string) *Error {
	e.Extra = append(e.Extra, Field{name, value})
	return e
}

// Status returns the HTTP status registered for code.
func Status(code Code) int {
	if ent, ok := registry[code]; ok {
		return ent.status
	}
	return http.StatusInternalServerError
}

// As returns err as an *Error, or InternalError when err is not one.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return New(InternalError)
}

// Write writes err as an S3 XML error response. HEAD requests and 304
// responses get no body, like S3.
func Write(w http.ResponseWriter, r *http.Request, err error, requestID, hostID string) {
	e := As(err)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	if requestID != "" {
		h.Set("x-amz-request-id", requestID)
	}
	if hostID != "" {
		h.Set("x-amz-id-2", hostID)
	}
	if e.Status == http.StatusNotModified || (r != nil && r.Method == http.MethodHead) {
		h.Del("Content-Type")
		w.WriteHeader(e.Status)
		return
	}
	body := Body(e, requestID, hostID)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// Body returns the XML error document for e.
func Body(e *Error, requestID, hostID string) []byte {
	type xmlField struct {
		XMLName xml.Name
		Value   string `xml:",chardata"`
	}
	doc := struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string   `xml:"Code"`
		Message   string   `xml:"Message"`
		Resource  string   `xml:"Resource,omitempty"`
		Extra     []xmlField
		RequestID string `xml:"RequestId"`
		HostID    string `xml:"HostId"`
	}{Code: string(e.Code), Message: e.Message, Resource: e.Resource, RequestID: requestID, HostID: hostID}
	for _, f := range e.Extra {
		doc.Extra = append(doc.Extra, xmlField{XMLName: xml.Name{Local: f.Name}, Value: f.Value})
	}
	out, _ := xml.Marshal(doc)
	return append([]byte(xml.Header), out...)
}
