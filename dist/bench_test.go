package dist

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkSample(b *testing.B) {
	for _, spec := range []string{"exp:mean=100ms", "lognormal:median=80ms,sigma=0.5", "percentiles:0=1ms,1=247ms,25=269ms,50=282ms,75=304ms,99=481ms,100=130s"} {
		d, err := Parse(spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(spec[:3], func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			for b.Loop() {
				d.Sample(r)
			}
		})
	}
}
