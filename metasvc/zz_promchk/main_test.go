package promchk
import ("testing"; "github.com/prometheus/client_golang/prometheus"; "github.com/hashicorp/raft"; raftboltdb "github.com/hashicorp/raft-boltdb/v2"; "github.com/hashicorp/go-hclog")
func TestX(t *testing.T){ _ = prometheus.NewRegistry(); _ = raft.DefaultConfig(); _ = raftboltdb.Options{}; _ = hclog.Warn }
