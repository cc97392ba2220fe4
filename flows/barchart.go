package flows

// BarChart is a picture of counts the chat sends before its text (a /stats
// chart, issue 20): what it says, not how it is drawn. The desk builds it
// with the words and the masking it already has; cmd/hangxom hands it to
// the dashboard's chart renderer, so the desk never imports the drawing.
// One horizontal bar per flow, or per area.
type BarChart struct {
	// Title is drawn at the top; Caption under it (the months).
	Title, Caption string
	// Value and Target are the legend's words; Target only when a bar has
	// a target.
	Value, Target string
	// Max is the value at the right end of the bars: 100 for shares in
	// percent; 0 means the largest value or target.
	Max  float64
	Bars []ChartBar
}

// ChartBar is one bar of a BarChart.
type ChartBar struct {
	Label string
	N     float64
	// Display, when set, is written instead of N.
	Display string
	// Masked hides the count: N is not read (keep it 0), Display is written
	// (MaskText when empty) and the bar drawn as a stub of fixed length.
	Masked bool
	// Target, above 0, is marked across the bar; targets are public.
	Target float64
}
