package csv

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseDelimiter(t *testing.T) {
	tests := []struct {
		in      string
		want    rune
		wantErr string
	}{
		{"", 0, ""},
		{"auto", 0, ""},
		{"AUTO", 0, ""},
		{",", ',', ""},
		{";", ';', ""},
		{"|", '|', ""},
		{"\t", '\t', ""},
		{`\t`, '\t', ""},
		{"tab", '\t', ""},
		{"Tab", '\t', ""},
		{":", 0, `invalid delimiter ":" (want ",", ";", "\t" (or tab), "|" or auto)`},
		{";;", 0, `invalid delimiter ";;"`},
		{" ", 0, `invalid delimiter " "`},
		{"semicolon", 0, `invalid delimiter "semicolon"`},
	}
	for _, tt := range tests {
		got, err := ParseDelimiter(tt.in)
		if tt.wantErr == "" && (err != nil || got != tt.want) {
			t.Errorf("ParseDelimiter(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("ParseDelimiter(%q) error = %v; want %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestParseEncoding(t *testing.T) {
	tests := []struct {
		in      string
		want    Encoding
		wantErr bool
	}{
		{"", UTF8, false},
		{"utf-8", UTF8, false},
		{"UTF-8", UTF8, false},
		{"utf8", UTF8, false},
		{"windows-1252", Windows1252, false},
		{"Windows-1252", Windows1252, false},
		{"cp1252", Windows1252, false},
		{"latin1", Windows1252, false},
		{"ISO-8859-1", Windows1252, false},
		{"utf-16", 0, true},
		{"iso-8859-15", 0, true},
		{"ansi", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseEncoding(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseEncoding(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "want utf-8 or windows-1252") {
			t.Errorf("ParseEncoding(%q) error %q does not say what is accepted", tt.in, err)
		}
	}
}

func TestParseDecimal(t *testing.T) {
	for in, want := range map[string]rune{"": '.', ".": '.', ",": ','} {
		if got, err := ParseDecimal(in); err != nil || got != want {
			t.Errorf("ParseDecimal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{";", "comma", " ,", "'"} {
		if _, err := ParseDecimal(in); err == nil || !strings.Contains(err.Error(), `want "." or ","`) {
			t.Errorf("ParseDecimal(%q) error = %v; want one saying what is accepted", in, err)
		}
	}
}

func TestParseDateFormat(t *testing.T) {
	tests := []struct {
		pattern string
		value   string
		want    string // RFC 3339
	}{
		{"DD/MM/YYYY", "31/12/2024", "2024-12-31T00:00:00Z"},
		{"JJ/MM/AAAA", "01/02/2024", "2024-02-01T00:00:00Z"},
		{"D/M/YYYY", "1/2/2024", "2024-02-01T00:00:00Z"},
		{"D/M/YYYY", "11/12/2024", "2024-12-11T00:00:00Z"},
		{"DD.MM.YYYY", "05.06.2025", "2025-06-05T00:00:00Z"},
		{"YYYYMMDD", "20240229", "2024-02-29T00:00:00Z"},
		{"DD/MM/YYYY HH:mm", "31/12/2024 14:30", "2024-12-31T14:30:00Z"},
		{"DD/MM/YYYY HH:mm:ss", "31/12/2024 09:05:07", "2024-12-31T09:05:07Z"},
		{"YYYY-MM-DDTHH:mm", "2024-12-31T23:59", "2024-12-31T23:59:00Z"},
	}
	for _, tt := range tests {
		d, err := ParseDateFormat(tt.pattern)
		if err != nil {
			t.Errorf("ParseDateFormat(%q): %v", tt.pattern, err)
			continue
		}
		got, ok := d.parse(tt.value)
		if !ok || got.Format(time.RFC3339) != tt.want {
			t.Errorf("%q parses %q as %v, %v; want %s", tt.pattern, tt.value, got, ok, tt.want)
		}
		if d.String() != tt.pattern {
			t.Errorf("String() = %q, want %q", d, tt.pattern)
		}
	}
}

func TestParseDateFormatRefusesValues(t *testing.T) {
	tests := []struct{ pattern, value string }{
		{"DD/MM/YYYY", "31/02/2024"},       // no such day
		{"DD/MM/YYYY", "1/2/2024"},         // DD is two digits
		{"DD/MM/YYYY", "2024-12-31"},       // another format
		{"DD/MM/YYYY", "31/12/2024 14:30"}, // a time the pattern lacks
		{"DD/MM/YYYY HH:mm", "31/12/2024 25:00"},
	}
	for _, tt := range tests {
		d, err := ParseDateFormat(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := d.parse(tt.value); ok {
			t.Errorf("%q parses %q as %v; want a refusal", tt.pattern, tt.value, got)
		}
	}
	if got, ok := (DateFormat{}).parse("2024-12-31"); ok {
		t.Errorf("the zero DateFormat parses %v; want nothing", got)
	}
}

func TestParseDateFormatErrors(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"02/01/2006", `this is a Go layout; write it "DD/MM/YYYY"`},
		{"dd/mm/yyyy", `unexpected "d"`},
		{"DD/MM/YY", `unexpected "Y"`},
		{"DD/MM", "no year"},
		{"MM/YYYY", "no day"},
		{"DD/DD/YYYY", "the day appears twice"},
		{"DD/M/YYYY/M", "the month appears twice"},
		{"DMYYYY", "D and M need a separator between them"},
		{"YYYYMD", "YYYY and M need a separator between them"},
		{"DD/MM/YYYY mm", "mm is minutes and needs HH (the month is MM)"},
		{"DD/MM/YYYY HH", "HH needs mm"},
		{"DD/MM/YYYY ss", "ss needs HH:mm"},
		{"DD_MM_YYYY", `unexpected "_"`},
		{"DD/MM/YYYY é", `unexpected "é"`},
	}
	for _, tt := range tests {
		_, err := ParseDateFormat(tt.pattern)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "want a pattern such as DD/MM/YYYY") {
			t.Errorf("ParseDateFormat(%q) error = %v; want %q and what is accepted", tt.pattern, err, tt.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	f, err := ParseFormat(";", "cp1252", "DD/MM/YYYY", ",")
	if err != nil {
		t.Fatal(err)
	}
	if f.Delimiter != ';' || f.Encoding != Windows1252 || f.Dates.String() != "DD/MM/YYYY" || f.Decimal != ',' {
		t.Errorf("ParseFormat = %+v", f)
	}
	if f, err := ParseFormat("", "", "", ""); err != nil || f.fingerprint() != "" {
		t.Errorf("ParseFormat of nothing = %+v, %v; want the default", f, err)
	}
	_, err = ParseFormat(":", "ebcdic", "x", ";")
	for _, key := range []string{"delimiter: ", "encoding: ", "date_format: ", "decimal: "} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("ParseFormat error = %v; want it to name %s", err, key)
		}
	}
}

func TestDetectDelimiter(t *testing.T) {
	tests := []struct {
		data string
		want rune
	}{
		{"id,name,created_at\nA1;x,y\n", ','},
		{"id;name;created_at\r\nA1,5;x;y\r\n", ';'},
		{"\n \r\nid\tname\n", '\t'},
		{"id|name|owner_id\n", '|'},
		{`"a;b;c",name` + "\n", ','},
		{"id\n", ','},
		{"", ','},
		{"a,b;c\n", ','}, // a tie goes to the earliest of , ; tab |
		{"a;b|c\n", ';'},
	}
	for _, tt := range tests {
		if got := detectDelimiter([]byte(tt.data)); got != tt.want {
			t.Errorf("detectDelimiter(%q) = %q, want %q", tt.data, got, tt.want)
		}
	}
}

func TestFormatDecode(t *testing.T) {
	tests := []struct {
		name string
		enc  Encoding
		in   string
		want string
	}{
		{"utf-8 kept", UTF8, "Société", "Société"},
		{"utf-8 bom skipped", UTF8, "\xEF\xBB\xBFid", "id"},
		{"windows-1252", Windows1252, "Soci\xe9t\xe9 \x80 \x8c\x9c \x96 12\xa0345", "Société € Œœ – 12\u00a0345"},
		{"a utf-8 bom wins over windows-1252", Windows1252, "\xEF\xBB\xBFSoci\xc3\xa9t\xc3\xa9", "Société"},
		{"bytes windows-1252 leaves undefined", Windows1252, "a\x81b", "a\uFFFDb"},
	}
	for _, tt := range tests {
		text, err := Format{Encoding: tt.enc}.reader(strings.NewReader(tt.in))
		if err != nil {
			t.Fatalf("%s: reader: %v", tt.name, err)
		}
		got, err := io.ReadAll(text)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: decode(%q) = %q, %v; want %q", tt.name, tt.in, got, err, tt.want)
		}
	}
}
