package vietqr

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The public VietQR vectors and the bank list they were checked against are
// copied into testdata/ (its README says where each came from), so the tests
// need nothing beside the repository.
const (
	vectorsFile   = "testdata/vectors.json"
	banksSnapshot = "testdata/banks.csv"
)

// vectorFile mirrors testdata/vectors.json. It is decoded strictly,
// so a new field in the file fails the test until someone decides whether to
// check it.
type vectorFile struct {
	Description  string   `json:"description"`
	CRCAlgorithm string   `json:"crc_algorithm"`
	Vectors      []vector `json:"vectors"`
}

type vector struct {
	ID      string `json:"id"`
	Payload string `json:"payload"`
	Expect  struct {
		CRCValid         bool `json:"crc_valid"`
		StructureValid   bool `json:"structure_valid"`
		IsVietQRTransfer bool `json:"is_vietqr_transfer"`
		Accept           bool `json:"accept"`
	} `json:"expect"`
	Decoded struct {
		PayloadFormatIndicator string            `json:"payload_format_indicator"`
		PointOfInitiation      string            `json:"point_of_initiation"`
		Initiation             string            `json:"initiation"`
		Currency               string            `json:"currency"`
		Amount                 string            `json:"amount"`
		Country                string            `json:"country"`
		CRC                    string            `json:"crc"`
		GUID                   string            `json:"guid"`
		ServiceCode            string            `json:"service_code"`
		BankBIN                string            `json:"bank_bin"`
		Account                string            `json:"account"`
		BankShortName          string            `json:"bank_short_name"`
		BeneficiaryRaw         string            `json:"beneficiary_raw"`
		AdditionalData         map[string]string `json:"additional_data"`
		UnreservedTags         map[string]string `json:"unreserved_tags"`
		MerchantCategory       string            `json:"merchant_category"`
		MerchantName           string            `json:"merchant_name"`
		MerchantCity           string            `json:"merchant_city"`
		MerchantAccountTag     string            `json:"merchant_account_tag"`
		MerchantAccount        map[string]string `json:"merchant_account"`
	} `json:"decoded"`
	Source struct {
		Repo   string `json:"repo"`
		Path   string `json:"path"`
		Commit string `json:"commit"`
	} `json:"source"`
	Note string `json:"note"`
}

func loadVectors(tb testing.TB) []vector {
	tb.Helper()
	p := vectorsFile
	data, err := os.ReadFile(p)
	if err != nil {
		tb.Fatalf("read vectors: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f vectorFile
	if err := dec.Decode(&f); err != nil {
		tb.Fatalf("decode %s: %v", p, err)
	}
	if len(f.Vectors) == 0 {
		tb.Fatalf("%s: no vectors", p)
	}
	return f.Vectors
}

// vectorVerdicts pins the verdict and warnings of every public vector, so the
// decision for each is written down here and a new vector needs one.
var vectorVerdicts = map[string]struct {
	verdict  Verdict
	warnings []string
}{
	"napas-spec-static-account":            {Valid, nil},
	"napas-spec-static-account-as-printed": {Invalid, nil}, // 38.01 declares 12 for a 13-char account
	"napas-spec-static-card":               {Valid, nil},
	"napas-spec-dynamic-account":           {Valid, nil},
	"napas-spec-dynamic-card":              {Valid, nil},
	"acb-static":                           {Valid, nil},
	"acb-dynamic-10000":                    {Valid, nil},
	"acb-dynamic-1000-parse":               {Valid, nil},
	"acb-bad-crc":                          {Invalid, nil},
	"techcombank-crc-leading-zero":         {Valid, nil},
	"mbbank-lowercase-crc":                 {Valid, nil},
	"momo-psp":                             {Valid, nil},
	"zalopay-via-bvbank":                   {Valid, nil},
	"momo-legacy-field80":                  {Valid, nil},
	"tpbank-static":                        {Valid, nil},
	"vietinbank-dynamic-readme":            {Valid, nil},
	"tag62-before-38":                      {Valid, nil},
	"vnpay-merchant":                       {Warning, []string{WarnMerchantNoAccount}},
	"evn-electricity-bill":                 {Warning, []string{WarnMerchantNoAccount}},
	"nonconforming-pfi-00":                 {Invalid, []string{WarnDynamicAmount}}, // PFI 00; 12 without amount
}

// wantFromVector builds the expected Result from the vector's independent
// decoding. Problems and Warnings are checked apart.
func wantFromVector(tb testing.TB, v vector) Result {
	tb.Helper()
	d := v.Decoded
	w := Result{
		Verdict:      vectorVerdicts[v.ID].verdict,
		Static:       d.Initiation == "static",
		BIN:          d.BankBIN,
		Bank:         d.BankShortName,
		Account:      d.Account,
		Amount:       d.Amount,
		Currency:     d.Currency,
		Purpose:      d.AdditionalData["08"],
		Bill:         d.AdditionalData["01"],
		MerchantName: d.MerchantName,
		MerchantCity: d.MerchantCity,
		Scheme:       d.MerchantAccount["00"],
	}
	switch {
	case d.ServiceCode == ServiceAccount:
		w.Kind = KindAccount
	case d.ServiceCode == ServiceCard:
		w.Kind = KindCard
	case d.MerchantAccountTag != "":
		w.Kind = KindMerchant
	default:
		tb.Fatalf("vector %s: cannot tell its kind from the decoding", v.ID)
	}
	if d.BankBIN != "" {
		b, ok := BankByBIN(d.BankBIN)
		if !ok {
			tb.Fatalf("vector %s: bin %s is not in the embedded bank list", v.ID, d.BankBIN)
		}
		w.BankName = b.Name
	}
	return w
}

func TestVectors(t *testing.T) {
	vectors := loadVectors(t)
	seen := map[string]bool{}
	for _, v := range vectors {
		t.Run(v.ID, func(t *testing.T) {
			if seen[v.ID] {
				t.Fatalf("duplicate vector id %s", v.ID)
			}
			seen[v.ID] = true
			pin, ok := vectorVerdicts[v.ID]
			if !ok {
				t.Fatalf("vector %s has no entry in vectorVerdicts: decide its verdict", v.ID)
			}
			if (pin.verdict == Invalid) == v.Expect.Accept {
				t.Fatalf("vectorVerdicts[%s] = %s contradicts expect.accept = %v", v.ID, pin.verdict, v.Expect.Accept)
			}

			got := Parse(v.Payload)
			want := wantFromVector(t, v)
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Result{}, "Problems", "Warnings")); diff != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s\nproblems: %q", v.Payload, diff, got.Problems)
			}
			if diff := cmp.Diff(pin.warnings, got.Warnings, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}

			var crcProblems, otherProblems []string
			for _, p := range got.Problems {
				if strings.HasPrefix(p, "crc mismatch") {
					crcProblems = append(crcProblems, p)
				} else {
					otherProblems = append(otherProblems, p)
				}
			}
			if v.Expect.CRCValid != (len(crcProblems) == 0) {
				t.Errorf("crc_valid = %v, but crc problems %q", v.Expect.CRCValid, crcProblems)
			}
			if v.Expect.StructureValid != (len(otherProblems) == 0) {
				t.Errorf("structure_valid = %v, but structural problems %q", v.Expect.StructureValid, otherProblems)
			}
			transfer := (got.Kind == KindAccount || got.Kind == KindCard) && len(otherProblems) == 0
			if transfer != v.Expect.IsVietQRTransfer {
				t.Errorf("is_vietqr_transfer = %v, got kind %s with structural problems %q", v.Expect.IsVietQRTransfer, got.Kind, otherProblems)
			}
			// The CRC as written in the vector, checked against our CRC16 directly.
			if v.Expect.CRCValid != crcMatches(v.Payload) {
				t.Errorf("crc_valid = %v, CRC16 over the payload disagrees", v.Expect.CRCValid)
			}
		})
	}
	for id := range vectorVerdicts {
		if !seen[id] {
			t.Errorf("vectorVerdicts has %s, which is not in vectors.json", id)
		}
	}
}

// crcMatches reports whether s ends in "6304" and 4 hex digits equal (in any
// case) to CRC16 of everything before them.
func crcMatches(s string) bool {
	s = strings.TrimSpace(s)
	if len(s) < 8 || s[len(s)-8:len(s)-4] != "6304" {
		return false
	}
	body, have := s[:len(s)-4], s[len(s)-4:]
	return strings.EqualFold(have, crcHex(body))
}

// TestBanksMatchResearchSnapshot checks the product's bank list
// (banks.csv, embedded) against the snapshot of the research list in
// testdata/banks.csv: a bank added to one and not the other is a decision to
// write down in both.
func TestBanksMatchResearchSnapshot(t *testing.T) {
	data, err := os.ReadFile(banksSnapshot)
	if err != nil {
		t.Fatalf("read %s: %v", banksSnapshot, err)
	}
	snapshot, err := parseBanks(data)
	if err != nil {
		t.Fatalf("parse %s: %v", banksSnapshot, err)
	}
	if diff := cmp.Diff(snapshot, bankList()); diff != "" {
		t.Errorf("embedded banks.csv differs from %s (-snapshot +embedded):\n%s", banksSnapshot, diff)
	}
}
