package regional

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/meridian-s3/meridian/internal/s3api"
	"github.com/meridian-s3/meridian/internal/s3err"
	"github.com/meridian-s3/meridian/internal/sigv4"
)

// Browser-form uploads (PostObject): a multipart/form-data body whose
// fields precede the file. The fields are read (bounded), the form's
// signature over its policy is checked, the policy's conditions are
// evaluated, and the file is then streamed into an ordinary PutObject —
// never buffered. The file's size is known before its first byte: S3
// requires the file to be the last field, so it is the Content-Length less
// the bytes before the file and the closing boundary; a body that does not
// end exactly so is MalformedPOSTRequest and nothing is stored.

const (
	// maxPostFields bounds the bytes of all fields before the file (S3's
	// MaxPostPreDataLengthExceededError) and maxPostFieldCount their number.
	maxPostFields     = 256 << 10
	maxPostFieldCount = 200
)

// postControlFields configure the answer or the signature, not the object.
var postControlFields = map[string]bool{
	"key": true, "policy": true, "x-amz-signature": true, "signature": true, "awsaccesskeyid": true,
	"x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true, "x-amz-security-token": true,
	"success_action_status": true, "success_action_redirect": true, "redirect": true, "bucket": true,
}

// postHeaderFields become the object's headers, as on PutObject.
var postHeaderFields = map[string]string{
	"content-type": "Content-Type", "cache-control": "Cache-Control", "content-disposition": "Content-Disposition",
	"content-encoding": "Content-Encoding", "expires": "Expires", "content-language": "Content-Language",
	"acl": "X-Amz-Acl",
}

func (g *Gateway) postObject(req *request) error {
	r := req.r
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return s3err.WithMessage(s3err.PreconditionFailed, "At least one of the pre-conditions you specified did not hold").
			With("Condition", "Bucket POST must be of the enclosure-type multipart/form-data")
	}
	if r.ContentLength < 0 {
		return s3err.New(s3err.MissingContentLength)
	}
	boundary := params["boundary"]
	body := io.Reader(r.Body)
	if req.auth != nil && req.auth.Body != nil {
		body = req.auth.Body
	}
	cr := &countingReader{r: body}
	fr := &formReader{br: bufio.NewReaderSize(cr, 64<<10), delim: []byte("\r\n--" + boundary)}
	if err := fr.begin(boundary); err != nil {
		return err
	}
	fields := map[string]string{}
	var budget int64 = maxPostFields
	var fileName string
	for {
		name, fname, isFile, err := fr.partHeader()
		if err != nil {
			return err
		}
		if name == "file" && isFile {
			fileName = fname
			break
		}
		if len(fields) >= maxPostFieldCount {
			return s3err.New(s3err.MaxPostPreDataLengthExceeded)
		}
		v, last, err := fr.value(budget)
		if err != nil {
			return err
		}
		if budget -= int64(len(v)) + int64(len(name)); budget < 0 {
			return s3err.New(s3err.MaxPostPreDataLengthExceeded)
		}
		if _, dup := fields[name]; dup {
			return s3err.WithMessage(s3err.InvalidArgument, "The form field "+name+" appears more than once.").With("ArgumentName", name)
		}
		fields[name] = string(v)
		if last {
			return s3err.WithMessage(s3err.InvalidArgument, "POST requires exactly one file upload per request.").With("ArgumentName", "file").With("ArgumentValue", "0")
		}
	}
	offset := cr.n - int64(fr.br.Buffered())
	trailer := "\r\n--" + boundary + "--\r\n"
	size := r.ContentLength - offset - int64(len(trailer))
	if size < 0 {
		return s3err.New(s3err.MalformedPOSTRequest)
	}

	// Who signed the form, and does the form meet its policy? A form with
	// neither policy nor signature is anonymous: the bucket's policy (or
	// ACL) decides, as for any unsigned request (putObject → bucketFor).
	anonymous := fields["policy"] == "" && fields["x-amz-signature"] == "" && fields["signature"] == ""
	pa := &sigv4.PostAuth{}
	var policy *s3api.PostPolicy
	if !anonymous {
		_, viaEdge := edgeFrom(r)
		if pa, err = g.verifier.VerifyPost(r.Context(), fields, viaEdge); err != nil {
			return err
		}
		if policy, err = s3api.ParsePostPolicy(fields["policy"]); err != nil {
			return err
		}
	}
	key, ok := fields["key"]
	if !ok || key == "" {
		return s3err.WithMessage(s3err.InvalidArgument, "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.").
			With("ArgumentName", "key").With("ArgumentValue", "")
	}
	fields["bucket"] = req.bucket
	if policy != nil {
		if err := policy.Check(fields, time.Now()); err != nil {
			return err
		}
		if err := policy.CheckLength(size); err != nil {
			return err
		}
	}
	key = strings.ReplaceAll(key, "${filename}", fileName)
	if err := s3api.ValidateKey(key); err != nil {
		if errors.Is(err, s3api.ErrKeyTooLong) {
			return s3err.New(s3err.KeyTooLongError).With("Size", fmt.Sprint(len(key))).With("MaxSizeAllowed", "1024")
		}
		return s3err.WithMessage(s3err.InvalidArgument, "Object key is not valid UTF-8")
	}
	status := fields["success_action_status"]
	redirect := fields["success_action_redirect"]
	if redirect == "" {
		redirect = fields["redirect"]
	}

	// The object's headers from the fields, then an ordinary PutObject.
	h := http.Header{}
	for name, v := range fields {
		switch {
		case postControlFields[name]:
		case postHeaderFields[name] != "":
			h.Set(postHeaderFields[name], v)
		case strings.HasPrefix(name, "x-amz-checksum-"), name == "tagging", name == "content-md5":
			return s3err.WithMessage(s3err.NotImplemented, "The form field "+name+" is not supported in browser-form uploads yet.")
		case strings.HasPrefix(name, "x-amz-"):
			h.Set(name, v)
		}
	}
	put := r.Clone(r.Context())
	put.Method = http.MethodPut
	put.Header = h
	put.ContentLength = size
	put.Header.Set("Content-Length", fmt.Sprint(size))
	cw := &captureWriter{h: http.Header{}}
	sub := *req
	sub.r, sub.w, sub.key, sub.principal = put, cw, key, pa.Principal
	sub.auth = &sigv4.Auth{
		AccessKeyID: pa.AccessKeyID, Principal: pa.Principal, Anonymous: anonymous, PayloadMode: sigv4.UnsignedPayload,
		Body: io.NopCloser(&postFile{br: fr.br, size: size, trailer: trailer, delim: fr.delim}), DecodedLength: size,
		Checksums: func() map[string]string { return nil }, RequestTime: time.Now().UTC(), SignatureV2: pa.SignatureV2,
	}
	sub.log = req.log.With("key", key, "access_key", pa.AccessKeyID, "form", true)
	if err := g.putObject(&sub); err != nil {
		return err
	}
	return writePostAnswer(req, cw.h, key, status, redirect)
}

// writePostAnswer answers a stored form upload as S3 does: a 303 to
// success_action_redirect (with bucket, key and etag added), else
// success_action_status 200 (empty), 201 (a PostResponse document) or 204
// (the default, also for any other value).
func writePostAnswer(req *request, stored http.Header, key, status, redirect string) error {
	w := req.w.Header()
	for k, vs := range stored {
		w[k] = vs
	}
	etag := stored.Get("ETag")
	location := "/" + req.bucket + "/" + (&url.URL{Path: key}).EscapedPath()
	if redirect != "" {
		if u, err := url.Parse(redirect); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			q := u.Query()
			q.Set("bucket", req.bucket)
			q.Set("key", key)
			q.Set("etag", etag)
			u.RawQuery = q.Encode()
			w.Set("Location", u.String())
			req.w.WriteHeader(http.StatusSeeOther)
			return nil
		}
	}
	w.Set("Location", location)
	switch status {
	case "200":
		req.w.WriteHeader(http.StatusOK)
	case "201":
		return writeXML(req, http.StatusCreated, postResponse{Location: location, Bucket: req.bucket, Key: key, ETag: etag})
	default:
		req.w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

func malformedPost(err error) error {
	return fmt.Errorf("%w (%v)", s3err.New(s3err.MalformedPOSTRequest), err)
}

// formReader reads the fields of a multipart/form-data body up to the
// file, itself (mime/multipart buffers ahead, and the file's position in
// the body must be known).
type formReader struct {
	br    *bufio.Reader
	delim []byte // "\r\n--" + boundary
}

// begin skips a preamble up to the first boundary line.
func (f *formReader) begin(boundary string) error {
	for range 64 {
		line, err := f.br.ReadSlice('\n')
		if err != nil {
			return malformedPost(err)
		}
		if strings.TrimRight(string(line), "\r\n") == "--"+boundary {
			return nil
		}
	}
	return s3err.New(s3err.MalformedPOSTRequest)
}

// partHeader reads a part's header: its lower-case form name, and the
// file name when the part is a file.
func (f *formReader) partHeader() (name, filename string, isFile bool, err error) {
	h, err := textproto.NewReader(f.br).ReadMIMEHeader()
	if err != nil {
		return "", "", false, malformedPost(err)
	}
	_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || params["name"] == "" {
		return "", "", false, s3err.New(s3err.MalformedPOSTRequest)
	}
	filename, isFile = params["filename"]
	return strings.ToLower(params["name"]), filename, isFile, nil
}

// value reads a field's value (at most limit bytes) up to the next
// boundary; last reports that the boundary closed the form.
func (f *formReader) value(limit int64) (v []byte, last bool, err error) {
	for {
		c, err := f.br.ReadByte()
		if err != nil {
			return nil, false, malformedPost(err)
		}
		v = append(v, c)
		if c == f.delim[len(f.delim)-1] && bytes.HasSuffix(v, f.delim) {
			v = v[:len(v)-len(f.delim)]
			break
		}
		if int64(len(v)) > limit+int64(len(f.delim)) {
			return nil, false, s3err.New(s3err.MaxPostPreDataLengthExceeded)
		}
	}
	var end [2]byte
	if _, err := io.ReadFull(f.br, end[:]); err != nil {
		return nil, false, malformedPost(err)
	}
	switch string(end[:]) {
	case "\r\n":
		return v, false, nil
	case "--":
		return v, true, nil
	}
	return nil, false, s3err.New(s3err.MalformedPOSTRequest)
}

// postFile is the file field's content: exactly size bytes, then exactly
// the closing boundary and the end of the body; anything else is
// MalformedPOSTRequest (the commit never sees io.EOF, so nothing is
// stored).
type postFile struct {
	br      *bufio.Reader
	size, n int64
	trailer string
	delim   []byte // "\r\n--" + boundary: never inside the file
	carry   []byte // the last len(delim)-1 bytes read, for a delimiter across reads
	scan    []byte
}

func (f *postFile) Read(b []byte) (int, error) {
	if f.n >= f.size {
		end := make([]byte, len(f.trailer))
		if _, err := io.ReadFull(f.br, end); err != nil || string(end) != f.trailer {
			return 0, fmt.Errorf("%w (the file must be the last field, followed by the closing boundary and CRLF)", s3err.New(s3err.MalformedPOSTRequest))
		}
		if _, err := f.br.ReadByte(); err != io.EOF {
			return 0, fmt.Errorf("%w (bytes after the closing boundary)", s3err.New(s3err.MalformedPOSTRequest))
		}
		return 0, io.EOF
	}
	if int64(len(b)) > f.size-f.n {
		b = b[:f.size-f.n]
	}
	m, err := f.br.Read(b)
	f.n += int64(m)
	if m > 0 {
		// A boundary inside the "file" means a field after it (or a
		// broken form): its bytes must not be stored as the object's.
		f.scan = append(append(f.scan[:0], f.carry...), b[:m]...)
		if bytes.Contains(f.scan, f.delim) {
			return 0, fmt.Errorf("%w (a form field follows the file; the file must be the last field)", s3err.New(s3err.MalformedPOSTRequest))
		}
		keep := min(len(f.scan), len(f.delim)-1)
		f.carry = append(f.carry[:0], f.scan[len(f.scan)-keep:]...)
	}
	if err == io.EOF {
		return m, fmt.Errorf("%w (the body ended %d bytes early)", s3err.New(s3err.MalformedPOSTRequest), f.size-f.n)
	}
	return m, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// captureWriter takes PutObject's answer so that the form's answer can be
// written instead.
type captureWriter struct{ h http.Header }

func (c *captureWriter) Header() http.Header         { return c.h }
func (c *captureWriter) Write(p []byte) (int, error) { return len(p), nil }
func (c *captureWriter) WriteHeader(int)             {} // the form's answer has its own status
