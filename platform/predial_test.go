package platform

import (
	"net"
	"testing"
	"time"
)

func TestPredialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	for _, c := range []struct {
		name   string
		age    time.Duration
		opened bool
		want   bool
	}{
		{name: "fresh connection is handed over", opened: true, want: true},
		{name: "stale connection is closed, not handed over", opened: true, age: predialFresh + time.Second},
		{name: "nothing opened", opened: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := predialer{conns: map[string]predialed{}}
			var opened net.Conn
			if c.opened {
				d.open(addr)
				pc := d.conns[addr]
				pc.at = pc.at.Add(-c.age)
				d.conns[addr], opened = pc, pc.conn
			}
			got := d.take(addr)
			if (got != nil) != c.want {
				t.Fatalf("take: got %v, want a connection %v", got, c.want)
			}
			if opened != nil && got == nil {
				if _, err := opened.Write([]byte("x")); err == nil {
					t.Errorf("connection not handed over is still open")
				}
			}
			if got != nil {
				got.Close()
			}
			if again := d.take(addr); again != nil {
				t.Errorf("a connection was handed over twice")
			}
		})
	}
	t.Run("gone pod's connection is closed", func(t *testing.T) {
		d := predialer{conns: map[string]predialed{}}
		d.open(addr)
		c := d.conns[addr].conn
		d.drop(addr)
		if _, err := c.Write([]byte("x")); err == nil {
			t.Errorf("connection still open after drop")
		}
	})
}
