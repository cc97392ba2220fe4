package flows

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// CSVCell returns s as a spreadsheet should show it: as text. Excel,
// LibreOffice and Google Sheets read a cell that starts with "=", "+", "-",
// "@", a tab or a carriage return as a formula, so a hamlet named
// =HYPERLINK("http://…","Xom"), which a coordinator can create with
// /addhamlet, would be a live link in another coordinator's export (CSV
// injection). Such a cell gets a leading single quote, as OWASP's CSV
// injection advice says; the spreadsheet shows the text and hides the quote.
// A cell that is entirely a number, such as -12 or +3.5, is left alone so
// that it stays a number.
func CSVCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return "'" + s
	case '+', '-':
		if isDecimal(s[1:]) {
			return s
		}
		return "'" + s
	}
	return s
}

// isDecimal reports whether s is an unsigned decimal number: digits with at
// most one point, and an optional exponent ("12", "3.5", ".5", "1e-3").
func isDecimal(s string) bool {
	mantissa, exp, hasExp := s, "", false
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mantissa, exp, hasExp = s[:i], s[i+1:], true
	}
	digits, point := 0, false
	for i := 0; i < len(mantissa); i++ {
		switch c := mantissa[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !point:
			point = true
		default:
			return false
		}
	}
	if digits == 0 {
		return false
	}
	if !hasExp {
		return true
	}
	if exp != "" && (exp[0] == '+' || exp[0] == '-') {
		exp = exp[1:]
	}
	return exp != "" && strings.Trim(exp, "0123456789") == ""
}

// CSVWriter writes CSV records with every cell made safe by CSVCell. Every
// CSV the project writes goes through it, so none can carry a formula.
type CSVWriter struct {
	w    *csv.Writer
	cell []string // reused between records
}

// NewCSVWriter returns a CSVWriter writing to w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: csv.NewWriter(w)} }

// Write writes one record, each cell through CSVCell.
func (c *CSVWriter) Write(record []string) error {
	c.cell = c.cell[:0]
	for _, s := range record {
		c.cell = append(c.cell, CSVCell(s))
	}
	if err := c.w.Write(c.cell); err != nil {
		return fmt.Errorf("csv: write record: %w", err)
	}
	return nil
}

// Flush writes what is buffered and returns the first error of any Write
// or Flush.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("csv: flush: %w", err)
	}
	return nil
}
