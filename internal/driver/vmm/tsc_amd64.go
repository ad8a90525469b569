package vmm

import "time"

func rdtsc() uint64

// TSCKHz measures the host's time-stamp counter frequency in kHz against
// the monotonic clock over about 50 ms. A guest emulated by TCG reads the
// host's TSC, so telling its kernel this frequency (tsc_early_khz) spares
// it a calibration that fails on a busy host and leaves it without a
// clock. It returns 0 when the measurement is not steady.
func TSCKHz() int64 {
	measure := func() float64 {
		t0, c0 := time.Now(), rdtsc()
		time.Sleep(25 * time.Millisecond)
		t1, c1 := time.Now(), rdtsc()
		d := t1.Sub(t0)
		if d <= 0 || c1 <= c0 {
			return 0
		}
		return float64(c1-c0) / d.Seconds() / 1000
	}
	a, b := measure(), measure()
	if a <= 0 || b <= 0 || a/b > 1.01 || b/a > 1.01 {
		return 0
	}
	return int64((a + b) / 2)
}
