package dynamicsfake

import (
	"cmp"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The $apply subset the fake serves, steps joined by "/":
//
//	filter(<$filter subset>)
//	groupby((col,...))  or  groupby((col,...),aggregate(spec,...))
//	aggregate(spec,...)
//
// where spec is "col with sum|min|max|average|countdistinct as alias" or
// "$count as alias". Aggregates cover at most AggregateLimit rows.

var specRe = regexp.MustCompile(`^\s*(\$count|[A-Za-z_][A-Za-z0-9_]*)(?:\s+with\s+(sum|min|max|average|countdistinct))?\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\s*$`)

// aggSpec is one aggregate of an $apply.
type aggSpec struct {
	col   column
	count bool // $count
	op    string
	alias string
}

// applyPlan is a parsed $apply.
type applyPlan struct {
	filters []cond
	group   []column
	aggs    []aggSpec
}

// serveApply answers an aggregation request.
func (s *Server) serveApply(w http.ResponseWriter, t *table, src string, pref prefer) {
	plan, err := parseApply(t.def, src)
	if err != nil {
		writeError(w, http.StatusBadRequest, CodeBadQuery, err.Error())
		return
	}
	var rows []map[string]any
	for _, r := range t.recs {
		ok := true
		for _, f := range plan.filters {
			ok = ok && f(r.fields)
		}
		if ok {
			rows = append(rows, r.fields)
		}
	}
	if len(rows) > AggregateLimit {
		writeError(w, http.StatusBadRequest, CodeAggregateLimit, "AggregateQueryRecordLimit exceeded. Cannot perform this operation.")
		return
	}
	groups := map[string][]map[string]any{}
	var order []string
	for _, r := range rows {
		k := fmt.Sprint(groupKey(plan.group, r)...)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	if len(plan.group) == 0 && len(order) == 0 {
		order, groups[""] = []string{""}, nil
	}
	values := make([]obj, 0, len(order))
	for _, k := range order {
		values = append(values, plan.row(groups[k], pref))
	}
	slices.SortStableFunc(values, func(a, b obj) int { return cmp.Compare(fmt.Sprint(a[0].val), fmt.Sprint(b[0].val)) })
	if pref.annotations != "" {
		w.Header().Set("Preference-Applied", `odata.include-annotations="`+pref.annotations+`"`)
	}
	writeJSON(w, http.StatusOK, obj{{"@odata.context", s.APIURL() + "$metadata#" + t.def.set}, {"value", values}})
}

func groupKey(cols []column, r map[string]any) []any {
	out := make([]any, len(cols))
	for i, c := range cols {
		out[i] = r[c.name]
	}
	return out
}

// row aggregates one group.
func (p *applyPlan) row(rows []map[string]any, pref prefer) obj {
	var out obj
	if len(rows) > 0 {
		for _, c := range p.group {
			out = append(out, kv{c.name, rows[0][c.name]})
		}
	}
	for _, a := range p.aggs {
		v := a.compute(rows)
		if f := a.formatted(v); f != nil && pref.wants(annFormatted) {
			out = append(out, kv{a.alias + "@" + annFormatted, f})
		}
		out = append(out, kv{a.alias, v})
	}
	return out
}

// compute applies the aggregate to rows; nulls are skipped.
func (a aggSpec) compute(rows []map[string]any) any {
	if a.count {
		return len(rows)
	}
	var vals []any
	distinct := map[any]bool{}
	for _, r := range rows {
		if v := r[a.col.name]; v != nil {
			vals = append(vals, v)
			distinct[v] = true
		}
	}
	switch a.op {
	case "countdistinct":
		return len(distinct)
	case "min", "max":
		if len(vals) == 0 {
			return nil
		}
		best := vals[0]
		for _, v := range vals[1:] {
			c := compareValues(v, best, a.col.typ)
			if (a.op == "max" && c > 0) || (a.op == "min" && c < 0) {
				best = v
			}
		}
		return best
	}
	sum := 0.0
	for _, v := range vals {
		switch x := v.(type) {
		case float64:
			sum += x
		case int:
			sum += float64(x)
		}
	}
	if a.op == "average" {
		if len(vals) == 0 {
			return nil
		}
		return sum / float64(len(vals))
	}
	return sum
}

// formatted is the FormattedValue of an aggregate, or nil.
func (a aggSpec) formatted(v any) any {
	switch x := v.(type) {
	case float64:
		if moneyCols[a.col.name] {
			return money(x)
		}
	case string:
		if a.col.typ == tDateTime {
			if t, err := time.Parse(time.RFC3339, x); err == nil {
				return t.UTC().Format("1/2/2006 3:04 PM")
			}
		}
	}
	return nil
}

// parseApply parses the $apply subset.
func parseApply(def *tableDef, src string) (*applyPlan, error) {
	plan := &applyPlan{}
	for _, step := range splitOutside(src, '/') {
		name, args, ok := strings.Cut(strings.TrimSpace(step), "(")
		if !ok || !strings.HasSuffix(args, ")") {
			return nil, fmt.Errorf("Syntax error in $apply at '%s'.", step)
		}
		args = strings.TrimSuffix(args, ")")
		var err error
		switch name {
		case "filter":
			var c cond
			if c, err = parseFilter(def, args); err == nil {
				plan.filters = append(plan.filters, c)
			}
		case "groupby":
			err = plan.parseGroupBy(def, args)
		case "aggregate":
			err = plan.parseAggregates(def, args)
		default:
			err = fmt.Errorf("The Dataverse fake does not serve the $apply transformation '%s'.", name)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(plan.group) == 0 && len(plan.aggs) == 0 {
		return nil, fmt.Errorf("The $apply '%s' has no groupby or aggregate.", src)
	}
	return plan, nil
}

func (p *applyPlan) parseGroupBy(def *tableDef, args string) error {
	parts := splitOutside(args, ',')
	list := strings.TrimSpace(parts[0])
	if !strings.HasPrefix(list, "(") || !strings.HasSuffix(list, ")") || len(parts) > 2 {
		return fmt.Errorf("Syntax error in groupby(%s).", args)
	}
	for name := range strings.SplitSeq(strings.Trim(list, "()"), ",") {
		c, ok := def.col(strings.TrimSpace(name))
		if !ok {
			return fmt.Errorf("%s", badProperty(def, strings.TrimSpace(name)))
		}
		if c.typ == tDateTime {
			return fmt.Errorf("groupby with datetime values is not supported (column %s).", c.name)
		}
		p.group = append(p.group, c)
	}
	if len(parts) == 2 {
		inner, ok := strings.CutPrefix(strings.TrimSpace(parts[1]), "aggregate(")
		if !ok || !strings.HasSuffix(inner, ")") {
			return fmt.Errorf("Syntax error in groupby(%s).", args)
		}
		return p.parseAggregates(def, strings.TrimSuffix(inner, ")"))
	}
	return nil
}

func (p *applyPlan) parseAggregates(def *tableDef, args string) error {
	for spec := range strings.SplitSeq(args, ",") {
		m := specRe.FindStringSubmatch(spec)
		if m == nil || (m[1] != "$count" && m[2] == "") {
			return fmt.Errorf("Syntax error in aggregate expression '%s'.", strings.TrimSpace(spec))
		}
		a := aggSpec{count: m[1] == "$count", op: m[2], alias: m[3]}
		if !a.count {
			c, ok := def.col(m[1])
			if !ok {
				return fmt.Errorf("%s", badProperty(def, m[1]))
			}
			if (a.op == "sum" || a.op == "average") && c.typ != tDecimal && c.typ != tInt {
				return fmt.Errorf("Aggregate method '%s' is not supported on column %s of type %s.", a.op, c.name, edmNames[c.typ])
			}
			a.col = c
		}
		p.aggs = append(p.aggs, a)
	}
	return nil
}
