package traffic

import "testing"

func benchmarkNext(b *testing.B, p Pattern) {
	s := p.Arrivals(1, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Next(); !ok {
			b.Fatal("stream ended")
		}
	}
}

func BenchmarkConstantNext(b *testing.B) { benchmarkNext(b, Constant{RPS: 1000}) }
func BenchmarkPoissonNext(b *testing.B)  { benchmarkNext(b, Constant{RPS: 1000, Spacing: Poisson}) }
func BenchmarkSineNext(b *testing.B) {
	benchmarkNext(b, Sine{Base: 1000, Amplitude: 800, Period: 600e9, Spacing: Poisson})
}
func BenchmarkOnOffNext(b *testing.B) {
	benchmarkNext(b, OnOff{RPS: 1000, On: 60e9, Off: 180e9})
}
