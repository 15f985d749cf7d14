package locale

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Spaces of French typography.
const (
	// NarrowNBSP (U+202F) groups thousands and separates a number from
	// its unit in French: "12 346 €", "-60 %".
	NarrowNBSP = "\u202f"
	// NBSP (U+00A0) comes before a colon in French ("Règle : x"), and
	// between an alphabetic currency symbol and the amount in English
	// ("CHF 12,346").
	NBSP = "\u00a0"
)

// Number formats v rounded to the unit with the language's thousands
// separator: "12,346" in English, "12 346" (U+202F) in French. NaN and
// infinities give "0".
func (l Locale) Number(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	n := int64(math.Round(v))
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	sep := ","
	if l.Lang() == French {
		sep = NarrowNBSP
	}
	digits := strconv.FormatInt(n, 10)
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Money formats the amount v, rounded to the unit, in the currency code
// (ISO 4217, any case): "€12,346", "$12,346", "CHF 12,346" in English,
// "12 346 €", "12 346 $US" in French (U+202F as separators). The symbol
// is the language's own (golang.org/x/text/currency); a code it does not
// know is shown as written, upper case. Without a currency the amount is
// the bare Number.
func (l Locale) Money(v float64, code string) string {
	num := l.Number(v)
	code = strings.ToUpper(strings.TrimSpace(code))
	if code == "" {
		return num
	}
	sym := l.symbol(code)
	if l.Lang() == French {
		return num + NarrowNBSP + sym
	}
	sign := ""
	if rest, ok := strings.CutPrefix(num, "-"); ok {
		sign, num = "-", rest
	}
	if last := sym[len(sym)-1]; last >= 'A' && last <= 'Z' {
		sym += NBSP // "CHF 12,346", not "CHF12,346"
	}
	return sign + sym + num
}

// symbol returns the language's symbol for the currency code.
func (l Locale) symbol(code string) string {
	unit, err := currency.ParseISO(code)
	if err != nil {
		return code
	}
	k := symbolKey{l.Lang(), unit}
	if s, ok := symbols.Load(k); ok {
		return s.(string)
	}
	s := message.NewPrinter(language.Make(l.Lang())).Sprint(currency.Symbol(unit))
	symbols.Store(k, s)
	return s
}

// symbols holds the symbols found so far, by language and currency:
// finding one parses the language's tag and formats through a printer,
// which made a pass's digests spend a tenth of their time on "€". There
// are a few hundred ISO 4217 currencies.
var symbols sync.Map // symbolKey → string

type symbolKey struct {
	lang string
	unit currency.Unit
}

// Percent formats a revenue trend, a ratio to the previous period, as a
// signed change rounded to the unit: 0.4 gives "-60%" in English and
// "-60 %" (U+202F) in French, 1.25 gives "+25%". NaN and infinities give
// the catalogue's "n/a".
func (l Locale) Percent(trend float64) string {
	if math.IsNaN(trend) || math.IsInf(trend, 0) {
		return l.T().NotAvailable
	}
	p := int64(math.Round((trend - 1) * 100))
	s := strconv.FormatInt(p, 10)
	if p >= 0 {
		s = "+" + s
	}
	if l.Lang() == French {
		return s + NarrowNBSP + "%"
	}
	return s + "%"
}

// Months, abbreviated.
var (
	monthsEN = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	monthsFR = [12]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
)

// Date formats the day of t, in t's own time zone: "Nov 3, 2026" in
// English, "3 nov. 2026" in French.
func (l Locale) Date(t time.Time) string {
	y, m, d := t.Date()
	if l.Lang() == French {
		return strconv.Itoa(d) + " " + monthsFR[m-1] + " " + strconv.Itoa(y)
	}
	return monthsEN[m-1] + " " + strconv.Itoa(d) + ", " + strconv.Itoa(y)
}

// Plural returns n and the form of the unit that goes with it:
// Plural(2, "day", "days") is "2 days". English takes the singular for 1
// and -1 only, French for 0, 1 and -1 ("0 jour").
func (l Locale) Plural(n int, one, other string) string {
	abs := max(n, -n)
	single := abs == 1 || l.Lang() == French && abs == 0
	if single {
		return l.Number(float64(n)) + " " + one
	}
	return l.Number(float64(n)) + " " + other
}

// Days is Plural with the catalogue's day: "1 day", "2 jours".
func (l Locale) Days(n int) string {
	t := l.T()
	return l.Plural(n, t.Day, t.Days)
}

// sprintf is fmt.Sprintf, named for the catalogue's formats.
func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
