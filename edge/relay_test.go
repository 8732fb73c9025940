package edge

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) { c.writes++; return c.Buffer.Write(p) }

func TestRelayBody(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	// One byte per read (like tiny DATA frames): still few, large writes.
	var w countingWriter
	if err := relayBody(&w, iotest.OneByteReader(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.Bytes(), data) || w.writes > 16 {
		t.Fatalf("relayed %d bytes in %d writes", w.Len(), w.writes)
	}
	// A body that fails midway reports the failure after relaying what came.
	boom := errors.New("stream reset")
	w = countingWriter{}
	err := relayBody(&w, io.MultiReader(bytes.NewReader(data[:1000]), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || w.Len() != 1000 {
		t.Fatalf("err %v, relayed %d", err, w.Len())
	}
	// An empty body.
	if err := relayBody(&countingWriter{}, bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
}
