package vietqr

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sync"
)

// banksCSV is the VietQR bank list: research §5.3, from xuannghia/vietnam-qr-pay
// src/constants/banks.ts (MIT). The file's header comment names the source.
//
//go:embed banks.csv
var banksCSV []byte

// Bank is one row of the bank list: the 6-digit BIN a VietQR code carries in
// tag 38.01.00, the short name people know the bank by, and its full name.
type Bank struct{ BIN, ShortName, Name string }

// bankList parses the embedded list once. A broken row can only come from an
// edit of banks.csv, which TestBanksCSV catches; at run time the rows read
// before it are kept so that Parse never panics.
var bankList = sync.OnceValue(func() []Bank {
	banks, _ := parseBanks(banksCSV)
	return banks
})

var bankIndex = sync.OnceValue(func() map[string]Bank {
	banks := bankList()
	m := make(map[string]Bank, len(banks))
	for _, b := range banks {
		m[b.BIN] = b
	}
	return m
})

// BankByBIN looks a bank up by its 6-digit BIN.
func BankByBIN(bin string) (Bank, bool) {
	b, ok := bankIndex()[bin]
	return b, ok
}

// parseBanks reads "bin,short_name,name" rows after one header row; lines
// starting with '#' are comments. It returns the rows read before any error.
func parseBanks(data []byte) ([]Bank, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.FieldsPerRecord = 3
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("vietqr: read bank list header: %w", err)
	}
	if header[0] != "bin" || header[1] != "short_name" || header[2] != "name" {
		return nil, fmt.Errorf("vietqr: bank list header %q, want bin,short_name,name", header)
	}
	var banks []Bank
	seen := map[string]bool{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return banks, nil
		}
		if err != nil {
			return banks, fmt.Errorf("vietqr: read bank list: %w", err)
		}
		line, _ := r.FieldPos(0)
		if !isDigits(rec[0]) || len(rec[0]) != 6 {
			return banks, fmt.Errorf("vietqr: bank list line %d: bin %q is not 6 digits", line, rec[0])
		}
		if rec[1] == "" || rec[2] == "" {
			return banks, fmt.Errorf("vietqr: bank list line %d: bin %s: empty name", line, rec[0])
		}
		if seen[rec[0]] {
			return banks, fmt.Errorf("vietqr: bank list line %d: duplicate bin %s", line, rec[0])
		}
		seen[rec[0]] = true
		banks = append(banks, Bank{BIN: rec[0], ShortName: rec[1], Name: rec[2]})
	}
}
