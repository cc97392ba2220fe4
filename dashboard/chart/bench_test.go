package chart

import "testing"

// BenchmarkFunnel20 draws a 20-step funnel, the longest guide's size, as a
// page's SVG and as the chat's PNG.
func BenchmarkFunnel20(b *testing.B) {
	r := newRenderer(b)
	f := sampleFunnel(20)
	b.Run("svg", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.SVG(f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("png", func(b *testing.B) {
		b.ReportAllocs()
		var size int
		for b.Loop() {
			p, err := r.PNG(f)
			if err != nil {
				b.Fatal(err)
			}
			size = len(p)
		}
		b.ReportMetric(float64(size), "bytes/png")
	})
}
