package web

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// funcs are the template functions: formatting in the configured locale
// and the charts.
func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"money": func(v float64) string { return s.loc.Money(v, s.cur) },
		"num":   func(v any) string { return s.loc.Number(toFloat(v)) },
		"pct": func(v float64) string {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return "–"
			}
			return s.percent(v)
		},
		"date":   func(t time.Time) string { return s.loc.Date(t) },
		"pareto": paretoSVG,
		"heat":   heat,
		"add":    func(a, b int) int { return a + b },
	}
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

// percent writes share v (0.818) as "81.8 %" (one decimal, none when it is
// 0), with the locale's decimal separator.
func (s *Server) percent(v float64) string {
	t := strconv.FormatFloat(math.Round(v*1000)/10, 'f', 1, 64)
	t = strings.TrimSuffix(t, ".0")
	if s.loc.Lang() == "fr" {
		t = strings.Replace(t, ".", ",", 1)
	}
	return t + " %"
}
