package chart

import "fmt"

// The charts of the tests: Vietnamese names with every kind of mark, a
// masked count, a target, top steps.

func sampleBars() Bars {
	return Bars{
		Heading: Heading{
			ID:      "overview",
			Title:   "Hoàn thành so với chỉ tiêu",
			Caption: "Xã Võ Nhai · 01/2026–11/2026",
			Desc:    "Số hộ đã hoàn thành mỗi hướng dẫn, so với chỉ tiêu của xã",
		},
		Words: BarsWords{Value: "Đã hoàn thành", Target: "Chỉ tiêu"},
		Bars: []Bar{
			{Label: "Ví điện tử và tài khoản thanh toán", Value: N(48), Target: 120},
			{Label: "Dịch vụ công trực tuyến (nộp hồ sơ)", Value: N(131), Target: 100, Highlight: true},
			{Label: "Định danh điện tử VNeID mức 2", Value: N(7)},
			{Label: "Sổ tay đảng viên", Value: Mask(""), Target: 30},
		},
	}
}

func sampleFunnel(rows int) Funnel {
	f := Funnel{
		Heading: Heading{
			ID:      "funnel-ewallet",
			Title:   "Tổ dân phố 1 (Đình Cả): Ví điện tử",
			Caption: "Xã Võ Nhai · 11/2026",
			Desc:    "Số người dân đến mỗi bước, dừng lại ở bước đó và nhờ trợ giúp ở bước đó",
		},
		Words: FunnelWords{Reached: "Đã đến bước", Stalled: "Dừng lại", Help: "Nhờ trợ giúp", Top: "bước nhiều người dừng nhất"},
	}
	base := []FunnelRow{
		{Step: "intro", Label: "Giới thiệu", Reached: N(40), Stalled: N(0), Help: N(0)},
		{Step: "mm_intro", Label: "Chọn loại điện thoại", Reached: N(38), Stalled: N(6), Help: N(1), Top: true},
		{Step: "mm_viettel_dial", Label: "Bấm *998# để mở Viettel Money trên điện thoại thường", Reached: N(31), Stalled: N(9), Help: N(3), Top: true},
		{Step: "mm_viettel_store", Label: "Đến cửa hàng Viettel gần nhất", Reached: N(22), Stalled: Mask("<5"), Help: N(12), Top: true},
		{Step: "otp", Label: "Nhập mã OTP", Reached: N(19), Stalled: N(2), Help: N(0)},
		{Step: "done", Label: "Hoàn thành", Reached: N(17), Stalled: N(0), Help: N(0)},
		{Step: "voso", Label: "", Reached: N(5), Stalled: N(0), Help: N(0)},
	}
	for i := 0; i < rows; i++ {
		r := base[i%len(base)]
		if i >= len(base) {
			r.Step = fmt.Sprintf("%s_%d", r.Step, i)
			r.Label = fmt.Sprintf("%s (%d)", r.Label, i)
			r.Reached = N(max(0, 60-i))
			r.Top = false
		}
		f.Rows = append(f.Rows, r)
	}
	return f
}

func sampleTrend() Trend {
	t := Trend{
		Heading: Heading{
			ID:      "trend",
			Title:   "Tổ dân phố 1 (Đình Cả): bắt đầu và hoàn thành theo tháng",
			Caption: "Ví điện tử · 2026",
		},
		Words: TrendWords{Started: "Bắt đầu", Completed: "Hoàn thành"},
	}
	for m := 1; m <= 11; m++ {
		started := m * 7 % 23
		t.Months = append(t.Months, Month{Label: fmt.Sprintf("%02d/2026", m), Started: N(started), Completed: N(started / 2)})
	}
	t.Months[3].Completed = Mask("")
	return t
}
