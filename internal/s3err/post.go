package s3err

import "net/http"

// Browser-form upload (PostObject) answers.
const (
	MalformedPOSTRequest                Code = "MalformedPOSTRequest"
	MaxPostPreDataLengthExceeded        Code = "MaxPostPreDataLengthExceededError"
	InvalidPolicyDocument               Code = "InvalidPolicyDocument"
	IncorrectNumberOfFilesInPostRequest Code = "IncorrectNumberOfFilesInPostRequest"
)

func init() {
	registry[MalformedPOSTRequest] = entry{http.StatusBadRequest, "The body of your POST request is not well-formed multipart/form-data."}
	registry[MaxPostPreDataLengthExceeded] = entry{http.StatusBadRequest, "Your POST request fields preceding the upload file were too large."}
	registry[InvalidPolicyDocument] = entry{http.StatusBadRequest, "The content of the form does not meet the conditions specified in the policy document."}
	registry[IncorrectNumberOfFilesInPostRequest] = entry{http.StatusBadRequest, "POST requires exactly one file upload per request."}
}
