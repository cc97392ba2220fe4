package flows_test

import (
	"testing"

	"github.com/hangxomso/hangxom/flows"
)

// BenchmarkSensitive runs the secret filter over what residents type most:
// a short word, a sentence, a phone number, an amount and an OTP.
func BenchmarkSensitive(b *testing.B) {
	texts := []string{
		"xong",
		"Cháu ơi bà không thấy nút chuyển tiền đâu cả",
		"0912 345 678",
		"chuyển 500.000đ cho cô giáo",
		"483920",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		flows.Sensitive(texts[i%len(texts)])
	}
}
