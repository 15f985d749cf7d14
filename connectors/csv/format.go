package csv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// Format says how the files are written: the defaults (the zero Format)
// read UTF-8 files, their delimiter detected from each file's header line,
// with YYYY-MM-DD or RFC 3339 dates and '.' as the decimal separator of
// amounts. Spreadsheets and CRMs set to French write ';'-delimited
// Windows-1252 files with DD/MM/YYYY dates and ',' decimals:
//
//	f, err := csv.ParseFormat(";", "windows-1252", "DD/MM/YYYY", ",")
type Format struct {
	// Delimiter separates fields: ',', ';', '\t' or '|'; 0 detects it in
	// each file's header line: the one of those found most often outside
	// double quotes, the earliest in that order on a tie, ',' when there
	// is none.
	Delimiter rune
	// Encoding is the files' character encoding. A file that starts with
	// a UTF-8 byte order mark is read as UTF-8 whatever Encoding says, and
	// the mark is skipped.
	Encoding Encoding
	// Dates is one more way dates may be written, tried after YYYY-MM-DD
	// and RFC 3339; the zero DateFormat adds none.
	Dates DateFormat
	// Decimal separates the decimals of amounts: '.' (0 means '.') or ','.
	// With ',', thousands may be grouped by '.', a space, a no-break space
	// (U+00A0) or a narrow no-break space (U+202F): 1.234,56 or 1 234,56.
	Decimal rune
}

// delimiters lists the field delimiters a Format accepts, in the order
// detection prefers them on a tie.
var delimiters = []rune{',', ';', '\t', '|'}

// Encoding is a character encoding of the files.
type Encoding int

// The encodings a Format reads.
const (
	// UTF8 is UTF-8, with or without a byte order mark.
	UTF8 Encoding = iota
	// Windows1252 is Windows-1252, the encoding of Excel's CSV exports on
	// Western European Windows. It is a superset of the printable range of
	// ISO-8859-1 (Latin-1), which it also reads.
	Windows1252
)

// String returns the encoding's name in configuration.
func (e Encoding) String() string {
	switch e {
	case UTF8:
		return "utf-8"
	case Windows1252:
		return "windows-1252"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// ParseFormat reads a Format from the text of the delimiter, encoding,
// date_format and decimal settings, each empty for its default. Its error
// names every setting that is wrong.
func ParseFormat(delimiter, encoding, dateFormat, decimal string) (Format, error) {
	var f Format
	var errs []error
	var err error
	if f.Delimiter, err = ParseDelimiter(delimiter); err != nil {
		errs = append(errs, fmt.Errorf("delimiter: %w", err))
	}
	if f.Encoding, err = ParseEncoding(encoding); err != nil {
		errs = append(errs, fmt.Errorf("encoding: %w", err))
	}
	if f.Dates, err = ParseDateFormat(dateFormat); err != nil {
		errs = append(errs, fmt.Errorf("date_format: %w", err))
	}
	if f.Decimal, err = ParseDecimal(decimal); err != nil {
		errs = append(errs, fmt.Errorf("decimal: %w", err))
	}
	return f, errors.Join(errs...)
}

// ParseDelimiter reads a delimiter setting: one of , ; | or a tab (the
// tab character, the two characters \t, or the word tab), or auto or empty
// for detection, which it returns as 0.
func ParseDelimiter(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return 0, nil
	case "tab", `\t`:
		return '\t', nil
	}
	if r, size := utf8.DecodeRuneInString(s); size == len(s) && isDelimiter(r) {
		return r, nil
	}
	return 0, fmt.Errorf(`invalid delimiter %q (want ",", ";", "\t" (or tab), "|" or auto)`, s)
}

func isDelimiter(r rune) bool {
	for _, d := range delimiters {
		if r == d {
			return true
		}
	}
	return false
}

// ParseEncoding reads an encoding setting, in any case: utf-8 (or utf8,
// or empty) and windows-1252 (or cp1252; latin1, latin-1 and iso-8859-1
// are read as windows-1252, their superset).
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(s) {
	case "", "utf-8", "utf8":
		return UTF8, nil
	case "windows-1252", "cp1252", "latin1", "latin-1", "iso-8859-1":
		return Windows1252, nil
	}
	return 0, fmt.Errorf("unknown encoding %q (want utf-8 or windows-1252; cp1252, latin1 and iso-8859-1 are read as windows-1252)", s)
}

// ParseDecimal reads a decimal setting: "." (or empty) or ",".
func ParseDecimal(s string) (rune, error) {
	switch s {
	case "", ".":
		return '.', nil
	case ",":
		return ',', nil
	}
	return 0, fmt.Errorf(`invalid decimal separator %q (want "." or ",")`, s)
}

// check reports a Format built in code with values ParseFormat never
// returns.
func (f Format) check() error {
	if f.Delimiter != 0 && !isDelimiter(f.Delimiter) {
		return fmt.Errorf("csv: invalid delimiter %q", f.Delimiter)
	}
	if f.Encoding != UTF8 && f.Encoding != Windows1252 {
		return fmt.Errorf("csv: unknown encoding %v", f.Encoding)
	}
	if f.Decimal != 0 && f.Decimal != '.' && f.Decimal != ',' {
		return fmt.Errorf("csv: invalid decimal separator %q", f.Decimal)
	}
	return nil
}

// fingerprint is empty for the default Format and otherwise names its
// settings, so that a file read with other settings is read again.
func (f Format) fingerprint() string {
	if f.Delimiter == 0 && f.Encoding == UTF8 && f.Dates.pattern == "" && (f.Decimal == 0 || f.Decimal == '.') {
		return ""
	}
	return fmt.Sprintf("delimiter=%q encoding=%v dates=%q decimal=%q", f.Delimiter, f.Encoding, f.Dates.pattern, f.decimal())
}

// decimal returns the decimal separator, '.' by default.
func (f Format) decimal() rune {
	if f.Decimal == 0 {
		return '.'
	}
	return f.Decimal
}

// bom is the UTF-8 byte order mark.
var bom = []byte("\xEF\xBB\xBF")

// reader returns the text of raw as UTF-8 without a byte order mark. A
// file that starts with the UTF-8 mark is UTF-8 whatever the Format's
// encoding.
func (f Format) reader(raw io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(raw, chunk)
	start, err := br.Peek(len(bom))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if bytes.Equal(start, bom) {
		_, err := br.Discard(len(bom))
		return br, err
	}
	if f.Encoding != Windows1252 {
		return br, nil
	}
	return transform.NewReader(br, charmap.Windows1252.NewDecoder()), nil
}

// detectDelimiter returns the delimiter of a file from its header line,
// the first line that is not blank: the one of delimiters found most often
// outside double quotes, the earliest in delimiters on a tie, and ','
// when there is none.
func detectDelimiter(data []byte) rune {
	d, _ := mostFrequentDelimiter(string(headerLine(data)))
	return d
}

// headerLine returns the first line of data that is not blank, without
// its line ending.
func headerLine(data []byte) []byte {
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if line = bytes.TrimSuffix(line, []byte("\r")); len(bytes.TrimSpace(line)) > 0 {
			return line
		}
		data = rest
	}
	return nil
}
