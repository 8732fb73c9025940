package regionalclient

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestTransportPerRegion(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.Regions = map[string][]string{"us-east-1": {"127.0.0.1:1"}, "eu-west-1": {"127.0.0.1:2", "127.0.0.1:3"}}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{{}}}
		return c
	}
	for _, tc := range []struct {
		name    string
		tcp     []string
		want    map[string]Transport
		wantErr string
	}{
		{"all quic by default", nil, map[string]Transport{"us-east-1": TransportQUIC, "eu-west-1": TransportQUIC, "ap-south-1": ""}, ""},
		{"own region over tcp", []string{"us-east-1"}, map[string]Transport{"us-east-1": TransportTCP, "eu-west-1": TransportQUIC}, ""},
		{"unknown tcp region", []string{"ap-south-1"}, nil, `TCP region "ap-south-1"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			cfg.TCPRegions = tc.tcp
			c, err := New(cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("New: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for r, want := range tc.want {
				if got := c.Transport(r); got != want {
					t.Errorf("Transport(%s) = %q, want %q", r, got, want)
				}
			}
		})
	}
}
