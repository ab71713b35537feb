package ingester

import (
	"testing"
	"time"
)

func TestRateMeter(t *testing.T) {
	var m rateMeter
	if r := m.rate(); r != 0 {
		t.Fatalf("empty meter rate = %v", r)
	}
	t0 := time.Unix(1000, 0)
	// 100 records/s for 30 s, sampled every 500 ms.
	for k := 0; k <= 60; k++ {
		m.observe(t0.Add(time.Duration(k)*500*time.Millisecond), int64(k*50))
	}
	if r := m.rate(); r != 100 {
		t.Fatalf("rate = %v, want 100", r)
	}
	if span := m.samples[len(m.samples)-1].at.Sub(m.samples[0].at); span < rateWindow || span > rateWindow+time.Second {
		t.Fatalf("meter keeps %s of samples, want about %s", span, rateWindow)
	}
	// Then nothing for 20 s: the rate falls to zero once the window holds no growth.
	for k := 1; k <= 40; k++ {
		m.observe(t0.Add(30*time.Second+time.Duration(k)*500*time.Millisecond), 3000)
	}
	if r := m.rate(); r != 0 {
		t.Fatalf("idle rate = %v, want 0", r)
	}
}
