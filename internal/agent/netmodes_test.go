package agent

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestServePong: the server echoes every byte of each connection and stops
// after the number asked for.
func TestServePong(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan PongReport, 1)
	go func() {
		rep, err := ServePong(ln, 2, time.Now().Add(30*time.Second))
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp4", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte(strings.Repeat("ab", 1+i))
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo %q, %v", got, err)
		}
		c.Close()
	}
	rep := <-done
	if rep.Conns != 2 || rep.Bytes != 6 || rep.Type != TypePong {
		t.Errorf("report %+v, want 2 connections and 6 bytes", rep)
	}
}

// TestStreamModes runs both directions of the stream mode against a
// loopback peer: the counts agree on both sides.
func TestStreamModes(t *testing.T) {
	for _, send := range []bool{true, false} {
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peer := make(chan int64, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				peer <- -1
				return
			}
			defer c.Close()
			if send {
				n, _ := io.Copy(io.Discard, c)
				peer <- n
				return
			}
			n, err := StreamSendOnly(c, 100*time.Millisecond)
			if err != nil {
				peer <- -1
				return
			}
			var b [8]byte
			if _, err := io.ReadFull(c, b[:]); err != nil || int64(binary.BigEndian.Uint64(b[:])) != n {
				peer <- -2
				return
			}
			peer <- n
		}()
		dir := "-recv"
		if send {
			dir = "-send"
		}
		var out, errOut bytes.Buffer
		if code := Main([]string{"stream", "-connect", ln.Addr().String(), dir, "-time", "100ms"}, nil, &out, &errOut); code != 0 {
			t.Fatalf("stream %s: exit %d: %s", dir, code, errOut.String())
		}
		ln.Close()
		var rep StreamReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		n := <-peer
		if n <= 0 || rep.Bytes != n {
			t.Errorf("stream %s: agent counted %d, peer %d", dir, rep.Bytes, n)
		}
	}
}
