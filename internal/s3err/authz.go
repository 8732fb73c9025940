package s3err

import "net/http"

// Access control answers (bucket policies, Block Public Access).
const (
	MalformedPolicy Code = "MalformedPolicy"
)

func init() {
	registry[MalformedPolicy] = entry{http.StatusBadRequest, "This policy contains invalid Json"}
}
